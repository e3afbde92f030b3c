from .formatting import PackDetInputs
from .loading import LoadAnnotations, LoadImageFromFile
from .transforms import Pad, RandomFlip, RandomResize, Resize, flip_results

__all__ = ["PackDetInputs", "LoadAnnotations", "LoadImageFromFile", "Pad", "RandomFlip", "RandomResize",
           "Resize", "flip_results"]
