"""RoIAlign and NMS: mmcv's compiled kernels or mmcascade's torch implementations (see ``backend``),
and their graph forms while the model is exported (``tracing``, ``onnx_symbolic``, ``traceable``)."""

from .backend import IMPLS, CompiledOpsMissingError, mmcv_has_ops_for, mmcv_ops, resolve_impl
from .nms import batched_nms, check_nms_keys, nms
from .nms_kernel import nms_torch
from .roi_align import roi_align_torch
from .roi_align_layer import RoIAlign, roi_align
from .traceable import image_rows, pool_by_level, top_k_rows
from .tracing import index_tie_order, is_exporting

__all__ = [
    "IMPLS",
    "CompiledOpsMissingError",
    "RoIAlign",
    "batched_nms",
    "check_nms_keys",
    "image_rows",
    "index_tie_order",
    "is_exporting",
    "mmcv_has_ops_for",
    "mmcv_ops",
    "nms",
    "nms_torch",
    "pool_by_level",
    "resolve_impl",
    "roi_align",
    "roi_align_torch",
    "top_k_rows",
]
