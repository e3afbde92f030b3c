"""mmcascade: Cascade R-CNN and Cascade Mask R-CNN on mmengine."""

__version__ = "0.1.0"
__all__ = ["__version__"]
