from .formatting import PackDetInputs
from .loading import LoadAnnotations, LoadImageFromFile, LoadImageFromNDArray
from .transforms import Pad, RandomFlip, RandomResize, Resize, flip_results

__all__ = ["PackDetInputs", "LoadAnnotations", "LoadImageFromFile", "LoadImageFromNDArray", "Pad",
           "RandomFlip", "RandomResize", "Resize", "flip_results"]
