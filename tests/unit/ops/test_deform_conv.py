"""Deformable convolution: the torch implementation on hand-worked cases, against mmcv's compiled
kernel (values and gradients, DCNv1 and DCNv2, groups and deformable groups), and the layers'
checkpoint names."""

import pytest
import torch
import torch.nn.functional as F

from mmcascade.models.layers import DeformConv2dPack, ModulatedDeformConv2dPack
from mmcascade.ops import backend as ops_backend
from mmcascade.ops.deform_conv import deform_conv2d, deform_conv2d_torch

mmcv_ops = ops_backend.mmcv_ops()
needs_mmcv = pytest.mark.skipif(mmcv_ops is None, reason="the comparison needs mmcv built with compiled ops")


def test_zero_offsets_are_a_plain_conv():
    g = torch.Generator().manual_seed(0)
    x, w = torch.randn(2, 4, 9, 11, generator=g), torch.randn(6, 2, 3, 3, generator=g)
    offset = torch.zeros(2, 2 * 2 * 9, 5, 6)
    out = deform_conv2d_torch(x, offset, w, None, stride=2, padding=1, dilation=1, groups=2, deform_groups=2)
    assert torch.allclose(out, F.conv2d(x, w, None, 2, 1, 1, 2), atol=1e-5)


def test_offsets_shift_and_interpolate_by_hand():
    x = torch.arange(16.0).view(1, 1, 4, 4)  # x[0, 0, i, j] = 4 i + j
    w = torch.ones(1, 1, 1, 1)
    offset = torch.zeros(1, 2, 4, 4)
    offset[0, 1] = 1.0  # every tap reads one pixel to the right: 0 beyond the last column
    out = deform_conv2d_torch(x, offset, w)
    assert out[0, 0, 1].tolist() == [5.0, 6.0, 7.0, 0.0]
    offset[0, 0], offset[0, 1] = 0.5, 0.25  # bilinear: 4 (i + .5) + (j + .25) inside the image
    out = deform_conv2d_torch(x, offset, w)
    assert out[0, 0, 1, 1].item() == pytest.approx(4 * 1.5 + 1.25)
    # at (3, 3) + (0.5, 0.25) three of the four neighbours lie outside: only x[3, 3] * 0.5 * 0.75
    assert out[0, 0, 3, 3].item() == pytest.approx(15 * 0.5 * 0.75)
    mask = torch.full((1, 1, 4, 4), 0.5)
    assert torch.allclose(deform_conv2d_torch(x, offset, w, mask=mask), out * 0.5)


@needs_mmcv
@pytest.mark.parametrize("modulated", [False, True])
@pytest.mark.parametrize("groups, deform_groups, stride, dilation", [(1, 1, 1, 1), (2, 2, 2, 1), (1, 4, 1, 2)])
def test_equals_mmcv_kernel(modulated, groups, deform_groups, stride, dilation):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 8, 10, 12, generator=g)
    w = torch.randn(6, 8 // groups, 3, 3, generator=g) * 0.2
    ho, wo = (10 + 2 * dilation - 2 * dilation - 1) // stride + 1, (12 - 1) // stride + 1
    offset = torch.randn(2, 2 * deform_groups * 9, ho, wo, generator=g) * 3  # some taps fall outside
    mask = torch.rand(2, deform_groups * 9, ho, wo, generator=g) if modulated else None
    bias = torch.randn(6, generator=g) if modulated else None
    grads = []
    for impl in ("torch", "mmcv"):
        inputs = [t.clone().requires_grad_() for t in (x, offset, w)]
        out = deform_conv2d(
            inputs[0], inputs[1], inputs[2], bias, stride, dilation, dilation, groups, deform_groups, mask, impl=impl
        )
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        grads.append([out.detach()] + [t.grad for t in inputs])
    for ours, ref, name in zip(grads[0], grads[1], ("output", "d input", "d offset", "d weight")):
        assert torch.allclose(ours, ref, atol=1e-4, rtol=1e-4), (name, (ours - ref).abs().max())


def test_channels_last_input_and_sliced_offsets():
    """Detectors run channels_last (NHWC) maps, and DCNv2 slices its offsets and mask out of one
    conv output: the torch path takes such strided tensors."""
    torch.manual_seed(0)
    layer = ModulatedDeformConv2dPack(8, 8, 3, padding=1, deform_groups=2)
    nn_init = torch.nn.init
    nn_init.normal_(layer.conv_offset.weight, std=0.1)
    x = torch.randn(2, 8, 9, 11)
    expected = layer(x)
    layer.to(memory_format=torch.channels_last)  # weights too, as a channels_last model has them
    got = layer(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(got, expected, atol=1e-5)
    got = deform_conv2d_torch(
        x.contiguous(memory_format=torch.channels_last),
        layer.conv_offset(x)[:, :36],
        layer.weight,
        layer.bias,
        1,
        1,
        1,
        1,
        2,
        mask=layer.conv_offset(x)[:, 36:].sigmoid(),
    )
    assert torch.allclose(got, expected, atol=1e-5)
    out = layer.conv_offset(x.contiguous(memory_format=torch.channels_last))
    offset, mask = out[:, :36], out[:, 36:].sigmoid()
    assert torch.allclose(
        deform_conv2d_torch(x, offset, layer.weight, layer.bias, 1, 1, 1, 1, 2, mask=mask),
        deform_conv2d_torch(x, offset.contiguous(), layer.weight, layer.bias, 1, 1, 1, 1, 2, mask=mask.contiguous()),
        atol=1e-6,
    )


def test_layers_have_mmcv_names_and_start_as_plain_convs():
    dcn = DeformConv2dPack(4, 8, 3, padding=1, deform_groups=2)
    assert {k: tuple(v.shape) for k, v in dcn.state_dict().items()} == {
        "weight": (8, 4, 3, 3), "conv_offset.weight": (36, 4, 3, 3), "conv_offset.bias": (36,)
    }  # fmt: skip
    dcn2 = ModulatedDeformConv2dPack(4, 8, 3, padding=1)
    assert tuple(dcn2.conv_offset.weight.shape) == (27, 4, 3, 3) and dcn2.bias is not None
    x = torch.randn(1, 4, 7, 7)
    assert torch.allclose(dcn(x), F.conv2d(x, dcn.weight, None, 1, 1), atol=1e-5)
    # DCNv2 starts with every mask at sigmoid(0) = 0.5
    assert torch.allclose(dcn2(x), 0.5 * F.conv2d(x, dcn2.weight, None, 1, 1) + dcn2.bias.view(1, -1, 1, 1), atol=1e-5)
    with pytest.raises(ValueError, match="bias=True is not supported"):
        DeformConv2dPack(4, 8, 3, bias=True)
