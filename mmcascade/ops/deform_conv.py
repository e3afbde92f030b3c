"""Deformable convolution (Dai et al., ICCV 2017) and its modulated form, DCNv2 (Zhu et al.,
CVPR 2019): mmcv's compiled kernels where mmcv has them for the tensor's device, else
:func:`deform_conv2d_torch`, which gives the same values (tests compare the two).

While the model is exported to ONNX the torch implementation is traced (gathers and a matmul:
standard operators), as mmcv's op has no ONNX form.

Offsets follow mmcv's layout: ``(N, 2 * deform_groups * kh * kw, Ho, Wo)``, for each deformable
group and each kernel tap (row-major) a ``(dy, dx)`` pair in input pixels. A tap lying at or beyond
one pixel outside the image reads 0; inside, it is bilinear with 0 outside the image.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .backend import mmcv_ops, resolve_impl
from .roi_align import as_pair
from .tracing import is_exporting


def deform_conv2d(
    x: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    deform_groups: int = 1,
    mask: Tensor | None = None,
    impl: str = "auto",
) -> Tensor:
    """Deformable convolution; with ``mask`` (``(N, deform_groups * kh * kw, Ho, Wo)``, already
    in [0, 1]) the modulated one (DCNv2).

    Args:
        x: ``(N, C, H, W)`` input.
        offset: ``(N, 2 * deform_groups * kh * kw, Ho, Wo)``, mmcv's layout (module docstring).
        weight: ``(O, C / groups, kh, kw)``; bias: ``(O,)`` or None.
        impl: ``'auto'`` (mmcv's kernel where mmcv has one for the device), ``'mmcv'`` or ``'torch'``.

    Returns:
        ``(N, O, Ho, Wo)``.
    """
    if resolve_impl(impl, x.device, "DeformConv") == "mmcv" and not is_exporting():  # mmcv's op has no ONNX form
        ops = mmcv_ops()
        assert ops is not None
        # mmcv's kernels read NCHW memory as it lies: channels_last maps and sliced offsets would be misread
        x, offset, weight = x.contiguous(), offset.contiguous(), weight.contiguous()
        mask = mask.contiguous() if mask is not None else None
        if mask is None:
            out = ops.deform_conv2d(x, offset, weight, stride, padding, dilation, groups, deform_groups, False, 32)
            return out if bias is None else out + bias.view(1, -1, 1, 1)
        return ops.modulated_deform_conv2d(
            x, offset, mask, weight, bias, stride, padding, dilation, groups, deform_groups
        )
    return deform_conv2d_torch(x, offset, weight, bias, stride, padding, dilation, groups, deform_groups, mask)


def deform_conv2d_torch(
    x: Tensor,
    offset: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
    deform_groups: int = 1,
    mask: Tensor | None = None,
) -> Tensor:
    """:func:`deform_conv2d` in torch: bilinear gathers of every tap, then one grouped matmul."""
    n, c, h, w = x.shape
    out_channels, c_per_group, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    taps = kh * kw
    ho, wo = offset.shape[-2:]
    if c % deform_groups or c != c_per_group * groups or offset.shape[1] != 2 * deform_groups * taps:
        raise ValueError(
            f"deform_conv2d: input {tuple(x.shape)}, weight {tuple(weight.shape)}, offset {tuple(offset.shape)} "
            f"do not fit groups={groups}, deform_groups={deform_groups}"
        )
    off = offset.reshape(n, deform_groups, taps, 2, ho, wo)  # reshape: channels_last maps and slices too
    ar = dict(device=x.device, dtype=x.dtype)
    tap_y = (torch.arange(kh, **ar) * dh).repeat_interleave(kw).reshape(1, 1, taps, 1, 1)
    tap_x = (torch.arange(kw, **ar) * dw).repeat(kh).reshape(1, 1, taps, 1, 1)
    ys = (torch.arange(ho, **ar) * sh - ph).reshape(1, 1, 1, ho, 1) + tap_y + off[:, :, :, 0]
    xs = (torch.arange(wo, **ar) * sw - pw).reshape(1, 1, 1, 1, wo) + tap_x + off[:, :, :, 1]
    inside = (ys > -1) & (ys < h) & (xs > -1) & (xs < w)  # (N, dg, taps, Ho, Wo)
    y0, x0 = ys.floor(), xs.floor()
    ly, lx = ys - y0, xs - x0
    flat = x.reshape(n, deform_groups, c // deform_groups, h * w)
    sampled = x.new_zeros(n, deform_groups, c // deform_groups, taps * ho * wo)
    for dy, dx, wgt in ((0, 0, (1 - ly) * (1 - lx)), (0, 1, (1 - ly) * lx), (1, 0, ly * (1 - lx)), (1, 1, ly * lx)):
        yy, xx = y0 + dy, x0 + dx
        ok = inside & (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        index = (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).long().reshape(n, deform_groups, 1, -1)
        values = flat.gather(3, index.expand(-1, -1, c // deform_groups, -1))
        sampled = sampled + values * (wgt * ok).reshape(n, deform_groups, 1, -1)
    if mask is not None:
        sampled = sampled * mask.reshape(n, deform_groups, 1, -1)
    cols = sampled.reshape(n, groups, c_per_group * taps, ho * wo)  # channel-major, then tap: weight's order
    out = torch.matmul(weight.reshape(1, groups, out_channels // groups, c_per_group * taps), cols)
    out = out.reshape(n, out_channels, ho, wo)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
