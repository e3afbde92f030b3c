from .deform_conv import DeformConv2dPack, ModulatedDeformConv2dPack
from .grad_scale import scale_grad
from .nms import finite_rows, multiclass_nms

__all__ = ["DeformConv2dPack", "ModulatedDeformConv2dPack", "finite_rows", "multiclass_nms", "scale_grad"]
