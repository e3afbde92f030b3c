from .cascade_rcnn import CascadeRCNN, FasterRCNN, MaskRCNN
from .two_stage import NonFiniteLossError, TwoStageDetector

__all__ = ["CascadeRCNN", "FasterRCNN", "MaskRCNN", "NonFiniteLossError", "TwoStageDetector"]
