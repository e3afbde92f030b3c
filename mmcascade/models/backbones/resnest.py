"""ResNeSt (Zhang et al., *ResNeSt: Split-Attention Networks*, CVPRW 2022): a ResNet-D whose
bottleneck 3x3 conv is a split-attention conv: ``radix`` parallel grouped convs, mixed per channel
by weights from a softmax over the radix of their pooled sum. MMDetection's names, arguments and
checkpoint layout (``conv2.conv`` / ``bn0`` / ``fc1`` / ``bn1`` / ``fc2``, no ``bn2``)."""

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.registry import MODELS

from .resnet import ResNet
from .resnet_blocks import ResidualBlock, _conv2_cfg, _downsample, conv_norm


class SplitAttentionConv2d(BaseModule):
    """``(N, in, H, W)`` -> ``(N, channels, Ho, Wo)``: a conv to ``radix * channels`` (in
    ``groups * radix`` groups), BN, ReLU; the radix branches summed, pooled, and through
    ``fc1`` - BN - ReLU - ``fc2`` give per-branch channel weights (softmax over the radix; a
    sigmoid when ``radix`` is 1) for the weighted sum of the branches."""

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        groups: int = 1,
        radix: int = 2,
        reduction_factor: int = 4,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        dcn: dict | None = None,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(init_cfg)
        norm_cfg = norm_cfg or dict(type="BN")
        inter_channels = max(in_channels * radix // reduction_factor, 32)
        self.radix, self.groups, self.channels = radix, groups, channels
        self.conv = build_conv_layer(
            _conv2_cfg(conv_cfg, dcn, stride),
            in_channels,
            channels * radix,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups * radix,
            bias=False,
        )
        self.norm0_name, norm0 = build_norm_layer(norm_cfg, channels * radix, postfix=0)
        self.add_module(self.norm0_name, norm0)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = build_conv_layer(None, channels, inter_channels, 1, groups=groups)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, inter_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.fc2 = build_conv_layer(None, inter_channels, channels * radix, 1, groups=groups)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(conv_norm(self.conv, getattr(self, self.norm0_name), x))
        n = x.shape[0]
        branches = x.view(n, self.radix, self.channels, *x.shape[2:]) if self.radix > 1 else x.unsqueeze(1)
        gap = F.adaptive_avg_pool2d(branches.sum(dim=1), 1)
        gap = self.relu(conv_norm(self.fc1, getattr(self, self.norm1_name), gap))
        logits = self.fc2(gap)
        if self.radix > 1:  # (N, groups, radix, c / groups) -> softmax over the radix -> (N, radix, channels)
            weights = logits.view(n, self.groups, self.radix, -1).transpose(1, 2).softmax(dim=1)
        else:
            weights = logits.sigmoid()
        weights = weights.reshape(n, self.radix, self.channels, 1, 1)
        return (weights * branches).sum(dim=1)


class ResNeStBottleneck(ResidualBlock):
    """1x1 conv - split-attention 3x3 conv - (3x3 average pooling with the block's stride when
    ``avg_down_stride``) - 1x1 conv to ``4 * planes``."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        norm_cfg: dict | None = None,
        groups: int = 1,
        base_width: int = 4,
        base_channels: int = 64,
        with_cp: bool = False,
        conv_cfg: dict | None = None,
        dilation: int = 1,
        dcn: dict | None = None,
        radix: int = 2,
        reduction_factor: int = 4,
        avg_down_stride: bool = True,
    ) -> None:
        super().__init__(with_cp, style)
        norm_cfg = norm_cfg or dict(type="BN")
        width = planes if groups == 1 else (planes * base_width // base_channels) * groups
        stride1, stride2 = self.style_strides(style, stride)
        self.avd = avg_down_stride and stride2 > 1
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, width, postfix=1)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width, 1, stride=stride1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = SplitAttentionConv2d(
            width,
            width,
            3,
            stride=1 if self.avd else stride2,
            padding=dilation,
            dilation=dilation,
            groups=groups,
            radix=radix,
            reduction_factor=reduction_factor,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            dcn=dcn,
        )
        if self.avd:
            self.avd_layer = nn.AvgPool2d(3, stride2, padding=1)
        self.conv3 = build_conv_layer(conv_cfg, width, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self._add_shortcut(downsample)

    def _residual(self, x: Tensor) -> Tensor:
        identity = _downsample(self.downsample, x)
        out = self.relu(conv_norm(self.conv1, getattr(self, self.norm1_name), x))
        out = self.conv2(out)
        if self.avd:
            out = self.avd_layer(out)
        out = conv_norm(self.conv3, getattr(self, self.norm3_name), out)
        out += identity
        return out


@MODELS.register_module()
class ResNeSt(ResNet):
    """ResNeSt backbone: ResNet-D (deep stem, average-pool shortcuts) of split-attention
    bottlenecks (MMDetection's arguments and checkpoint keys).

    Args:
        groups, base_width: cardinality and width per group of the 3x3 convs (1 and 4: width = planes).
        radix: split-attention branches (2).
        reduction_factor: ``fc1``'s channels are ``radix * width / reduction_factor`` (at least 32).
        avg_down_stride: a strided block pools after its split-attention conv (which then has
            stride 1) instead of striding the conv.
        The other arguments: as :class:`ResNet`'s (``depth`` 50, 101, 152 or 200).
    """

    arch_settings = {
        50: (ResNeStBottleneck, (3, 4, 6, 3)),
        101: (ResNeStBottleneck, (3, 4, 23, 3)),
        152: (ResNeStBottleneck, (3, 8, 36, 3)),
        200: (ResNeStBottleneck, (3, 24, 36, 3)),
    }

    def __init__(
        self,
        groups: int = 1,
        base_width: int = 4,
        radix: int = 2,
        reduction_factor: int = 4,
        avg_down_stride: bool = True,
        deep_stem: bool = True,
        avg_down: bool = True,
        **kwargs,
    ) -> None:
        if radix < 1 or reduction_factor < 1:
            raise ValueError(f"ResNeSt: radix and reduction_factor must be >= 1, got {radix}, {reduction_factor}")
        self.radix, self.reduction_factor, self.avg_down_stride = radix, reduction_factor, avg_down_stride
        super().__init__(groups=groups, base_width=base_width, deep_stem=deep_stem, avg_down=avg_down, **kwargs)

    def _block_options(self, first: bool) -> dict:
        return dict(radix=self.radix, reduction_factor=self.reduction_factor, avg_down_stride=self.avg_down_stride)
