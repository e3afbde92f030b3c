from .convfc_bbox_head import (
    BBoxHead,
    BBoxLosses,
    BBoxTargets,
    ConvFCBBoxHead,
    Shared2FCBBoxHead,
    Shared4Conv1FCBBoxHead,
)
from .double_bbox_head import DoubleConvFCBBoxHead

__all__ = [
    "BBoxHead",
    "BBoxLosses",
    "BBoxTargets",
    "ConvFCBBoxHead",
    "DoubleConvFCBBoxHead",
    "Shared2FCBBoxHead",
    "Shared4Conv1FCBBoxHead",
]
