from .base_roi_head import BaseRoIHead
from .bbox_heads import BBoxHead, Shared2FCBBoxHead
from .cascade_roi_head import CascadeRoIHead
from .double_roi_head import DoubleHeadRoIHead
from .dynamic_roi_head import DynamicRoIHead
from .mask_heads import FCNMaskHead
from .roi_extractors import SingleRoIExtractor
from .shared_heads import ResLayer
from .stage_record import StageRecord
from .standard_roi_head import StandardRoIHead

__all__ = [
    "BBoxHead",
    "BaseRoIHead",
    "CascadeRoIHead",
    "DoubleHeadRoIHead",
    "DynamicRoIHead",
    "FCNMaskHead",
    "ResLayer",
    "Shared2FCBBoxHead",
    "SingleRoIExtractor",
    "StageRecord",
    "StandardRoIHead",
]
