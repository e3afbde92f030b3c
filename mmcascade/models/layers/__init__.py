from .deform_conv import DeformConv2dPack, ModulatedDeformConv2dPack
from .drop_path import drop_path
from .grad_scale import scale_grad
from .nms import finite_rows, multiclass_nms
from .norm_eval import batchnorms_to_eval

__all__ = [
    "DeformConv2dPack",
    "ModulatedDeformConv2dPack",
    "drop_path",
    "finite_rows",
    "multiclass_nms",
    "scale_grad",
    "batchnorms_to_eval",
]
