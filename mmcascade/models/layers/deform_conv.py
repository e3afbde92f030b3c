"""Deformable convolution layers under mmcv's registry names: ``DCN`` (its offsets predicted by a
3x3 conv of the input, ``conv_offset``) and ``DCNv2`` (offsets and a sigmoid mask). Parameter
names and initialisation as mmcv's ``DeformConv2dPack`` / ``ModulatedDeformConv2dPack``, so that
MMDetection's DCN checkpoints load; the convolution runs :func:`mmcascade.ops.deform_conv2d`
(mmcv's kernel where mmcv has one for the device, mmcascade's torch implementation otherwise)."""

import math

import torch
from torch import Tensor, nn

from mmcascade.ops.deform_conv import deform_conv2d
from mmcascade.ops.roi_align import as_pair
from mmcascade.registry import MODELS


class _DeformConvBase(nn.Module):
    """Weight ``(out, in / groups, kh, kw)``, optional bias, and ``conv_offset`` predicting
    ``values_per_tap * deform_groups * kh * kw`` channels (initialised to zero: a plain conv)."""

    values_per_tap = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        deform_groups: int = 1,
        bias: bool | str = False,
        im2col_step: int = 32,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels {in_channels} and out_channels {out_channels} must divide by groups={groups}"
            )
        if in_channels % deform_groups:
            raise ValueError(f"{name}: in_channels {in_channels} must divide by deform_groups={deform_groups}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = as_pair(kernel_size)
        self.stride, self.padding, self.dilation = as_pair(stride), as_pair(padding), as_pair(dilation)
        self.groups, self.deform_groups = groups, deform_groups
        self.im2col_step = im2col_step  # mmcv's batching of its kernel: no effect on the values
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        taps = self.kernel_size[0] * self.kernel_size[1]
        self.conv_offset = nn.Conv2d(
            in_channels,
            self.values_per_tap * deform_groups * taps,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            bias=True,
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        fan_in = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        bound = 1.0 / math.sqrt(fan_in)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def init_weights(self) -> None:  # mmengine calls it after the model's own init: keep offsets at zero
        nn.init.zeros_(self.conv_offset.weight)
        nn.init.zeros_(self.conv_offset.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
            f"deform_groups={self.deform_groups}, bias={self.bias is not None}"
        )


@MODELS.register_module(name=["DCN", "DeformConv2dPack"])
class DeformConv2dPack(_DeformConvBase):
    """Deformable convolution (DCNv1): ``(N, C, H, W)`` -> ``(N, out, Ho, Wo)``; no bias (as mmcv)."""

    def __init__(self, *args, bias: bool | str = False, **kwargs) -> None:
        if bias:
            raise ValueError(f"DCN (DeformConv2dPack): bias={bias!r} is not supported (as in mmcv); use DCNv2")
        super().__init__(*args, bias=False, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        offset = self.conv_offset(x)
        return deform_conv2d(
            x, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups, self.deform_groups
        )


@MODELS.register_module(name=["DCNv2", "ModulatedDeformConv2dPack"])
class ModulatedDeformConv2dPack(_DeformConvBase):
    """Modulated deformable convolution (DCNv2): each tap's value is also weighted by a sigmoid
    mask predicted with the offsets. ``bias`` defaults to True as in mmcv."""

    values_per_tap = 3

    def __init__(self, *args, bias: bool | str = True, **kwargs) -> None:
        super().__init__(*args, bias=bias, **kwargs)

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv_offset(x)
        dy_dx, mask = out[:, : 2 * out.shape[1] // 3], out[:, 2 * out.shape[1] // 3 :]
        return deform_conv2d(
            x,
            dy_dx,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.deform_groups,
            mask=torch.sigmoid(mask),
        )
