"""Res2Net (Gao et al., *Res2Net: A New Multi-scale Backbone Architecture*, TPAMI 2021): each
bottleneck splits its 1x1 conv's output into ``scales`` groups and runs a chain of 3x3 convs over
them, each adding the previous group's output, for several receptive fields in one block.
MMDetection's names, arguments and checkpoint layout (``convs.i`` / ``bns.i``, deep stem, average
-pool shortcuts)."""

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from torch import Tensor

from mmcascade.registry import MODELS

from .resnet import ResNet
from .resnet_blocks import ResidualBlock, _conv2_cfg, _downsample, conv_norm


class Bottle2neck(ResidualBlock):
    """1x1 conv to ``scales`` groups of ``width`` channels; ``scales - 1`` chained 3x3 convs; 1x1
    conv to ``4 * planes``. ``stage_type='stage'`` (a stage's first block) feeds each 3x3 conv its
    own group only and, where the 3x3 convs are strided, average-pools the last group with the same
    stride instead of passing it on."""

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
        base_width: int = 26,
        base_channels: int = 64,
        with_cp: bool = False,
        conv_cfg: dict | None = None,
        dilation: int = 1,
        dcn: dict | None = None,
        scales: int = 4,
        stage_type: str = "normal",
    ) -> None:
        super().__init__(with_cp, style)
        if scales < 2:
            raise ValueError(f"Bottle2neck: scales must be at least 2, got {scales}")
        if stage_type not in ("normal", "stage"):
            raise ValueError(f"Bottle2neck: stage_type must be 'normal' or 'stage', got {stage_type!r}")
        if groups != 1:
            raise ValueError("Res2Net's Bottle2neck has no grouped convs (groups=1)")
        norm_cfg = norm_cfg or dict(type="BN")
        self.width = width = planes * base_width // base_channels
        self.scales, self.stage_type = scales, stage_type
        stride1, stride2 = self.style_strides(style, stride)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, width * scales, postfix=1)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width * scales, 1, stride=stride1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.pools_last = stage_type == "stage" and stride2 != 1
        if stage_type == "stage":
            self.pool = nn.AvgPool2d(kernel_size=3, stride=stride2, padding=1)
        conv2_cfg = _conv2_cfg(conv_cfg, dcn, stride2)
        self.convs = nn.ModuleList(
            build_conv_layer(
                conv2_cfg, width, width, 3, stride=stride2, padding=dilation, dilation=dilation, bias=False
            )
            for _ in range(scales - 1)
        )
        self.bns = nn.ModuleList(build_norm_layer(norm_cfg, width)[1] for _ in range(scales - 1))
        self.conv3 = build_conv_layer(conv_cfg, width * scales, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self._add_shortcut(downsample)

    def _residual(self, x: Tensor) -> Tensor:
        identity = _downsample(self.downsample, x)
        out = self.relu(conv_norm(self.conv1, getattr(self, self.norm1_name), x))
        groups = torch.split(out, self.width, 1)
        outs = []
        sp = groups[0]
        for i, (conv, norm) in enumerate(zip(self.convs, self.bns)):
            if i > 0:
                sp = groups[i] if self.stage_type == "stage" else sp + groups[i]
            sp = self.relu(conv_norm(conv, norm, sp))
            outs.append(sp)
        outs.append(self.pool(groups[-1]) if self.pools_last else groups[-1])
        out = conv_norm(self.conv3, getattr(self, self.norm3_name), torch.cat(outs, 1))
        out += identity
        return out


@MODELS.register_module()
class Res2Net(ResNet):
    """Res2Net backbone: a ResNet of :class:`Bottle2neck` blocks, with a deep stem and
    average-pool shortcuts by default (MMDetection's arguments and checkpoint keys).

    Args:
        scales: groups per bottleneck (4).
        base_width: channels of each group for 64 planes (26: Res2Net-50/101 26w-4s).
        The other arguments: as :class:`ResNet`'s (``depth`` 50, 101 or 152).
    """

    arch_settings = {
        50: (Bottle2neck, (3, 4, 6, 3)),
        101: (Bottle2neck, (3, 4, 23, 3)),
        152: (Bottle2neck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        scales: int = 4,
        base_width: int = 26,
        style: str = "pytorch",
        deep_stem: bool = True,
        avg_down: bool = True,
        pretrained: str | None = None,
        init_cfg: dict | list | None = None,
        **kwargs,
    ) -> None:
        self.scales = scales  # read by _block_options while the stages are built
        super().__init__(
            style=style,
            deep_stem=deep_stem,
            avg_down=avg_down,
            pretrained=pretrained,
            init_cfg=init_cfg,
            base_width=base_width,
            **kwargs,
        )

    def _block_options(self, first: bool) -> dict:
        return dict(scales=self.scales, stage_type="stage" if first else "normal")
