from .convfc_bbox_head import BBoxLosses, BBoxTargets, ConvFCBBoxHead, Shared2FCBBoxHead, Shared4Conv1FCBBoxHead

__all__ = ["BBoxLosses", "BBoxTargets", "ConvFCBBoxHead", "Shared2FCBBoxHead", "Shared4Conv1FCBBoxHead"]
