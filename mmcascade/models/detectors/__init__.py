from .base import BaseDetector, NonFiniteLossError
from .cascade_rcnn import CascadeRCNN, FasterRCNN, FastRCNN, MaskRCNN
from .rpn import RPN
from .two_stage import TwoStageDetector

__all__ = [
    "BaseDetector",
    "CascadeRCNN",
    "FasterRCNN",
    "FastRCNN",
    "MaskRCNN",
    "NonFiniteLossError",
    "RPN",
    "TwoStageDetector",
]
