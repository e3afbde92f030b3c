from .base_roi_head import BaseRoIHead, StageRecord
from .bbox_heads import Shared2FCBBoxHead
from .cascade_roi_head import CascadeRoIHead
from .mask_heads import FCNMaskHead
from .roi_extractors import SingleRoIExtractor
from .standard_roi_head import StandardRoIHead

__all__ = [
    "BaseRoIHead",
    "CascadeRoIHead",
    "FCNMaskHead",
    "Shared2FCBBoxHead",
    "SingleRoIExtractor",
    "StageRecord",
    "StandardRoIHead",
]
