from .cascade_rcnn import CascadeRCNN, FasterRCNN, MaskRCNN
from .two_stage import TwoStageDetector

__all__ = ["CascadeRCNN", "FasterRCNN", "MaskRCNN", "TwoStageDetector"]
