from .deform_conv import DeformConv2dPack, ModulatedDeformConv2dPack
from .drop_path import drop_path
from .grad_scale import scale_grad
from .nms import finite_rows, multiclass_nms

__all__ = ["DeformConv2dPack", "ModulatedDeformConv2dPack", "drop_path", "finite_rows", "multiclass_nms", "scale_grad"]
