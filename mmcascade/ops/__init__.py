"""RoIAlign and NMS: mmcv's compiled kernels or mmcascade's torch implementations (see ``backend``)."""

from .backend import IMPLS, CompiledOpsMissingError, mmcv_has_ops_for, mmcv_ops, resolve_impl
from .nms import batched_nms, nms, nms_torch
from .roi_align import roi_align_torch
from .roi_align_layer import RoIAlign, roi_align

__all__ = [
    "IMPLS",
    "CompiledOpsMissingError",
    "RoIAlign",
    "batched_nms",
    "mmcv_has_ops_for",
    "mmcv_ops",
    "nms",
    "nms_torch",
    "resolve_impl",
    "roi_align",
    "roi_align_torch",
]
