from .grad_scale import scale_grad
from .nms import finite_rows, multiclass_nms

__all__ = ["finite_rows", "multiclass_nms", "scale_grad"]
