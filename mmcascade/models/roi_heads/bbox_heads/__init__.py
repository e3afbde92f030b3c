from .convfc_bbox_head import BBoxLosses, BBoxTargets, Shared2FCBBoxHead

__all__ = ["BBoxLosses", "BBoxTargets", "Shared2FCBBoxHead"]
