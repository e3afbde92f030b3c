"""Named two-stage detectors, as MMDetection users write them in configs."""

from mmcascade.registry import MODELS

from .two_stage import TwoStageDetector


@MODELS.register_module()
class CascadeRCNN(TwoStageDetector):
    """Cascade R-CNN / Cascade Mask R-CNN (the RoI head is a ``CascadeRoIHead``)."""


@MODELS.register_module()
class FasterRCNN(TwoStageDetector):
    """Faster R-CNN with FPN (a ``StandardRoIHead`` without masks)."""


@MODELS.register_module()
class MaskRCNN(TwoStageDetector):
    """Mask R-CNN (a ``StandardRoIHead`` with a mask branch)."""
