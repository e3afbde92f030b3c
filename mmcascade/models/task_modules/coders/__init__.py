from .delta_xywh_bbox_coder import DeltaXYWHBBoxCoder

__all__ = ["DeltaXYWHBBoxCoder"]
