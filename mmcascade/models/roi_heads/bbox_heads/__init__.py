from .convfc_bbox_head import BBoxTargets, Shared2FCBBoxHead

__all__ = ["BBoxTargets", "Shared2FCBBoxHead"]
