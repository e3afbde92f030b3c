"""RegNet (Radosavovic et al., *Designing Network Design Spaces*, CVPR 2020): a ResNet-family
backbone whose stage widths and depths come from a quantised linear rule, with MMDetection's
names, arguments and checkpoint layout (``conv1`` / ``bn1`` stem, ``layer1``... of bottlenecks
with no channel expansion)."""

from collections.abc import Sequence

import numpy as np
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer

from mmcascade.registry import MODELS

from .resnet import ResNet
from .resnet_blocks import Bottleneck, StageSpec


class RegNetBottleneck(Bottleneck):
    """A bottleneck whose output has as many channels as ``planes`` (RegNet's X block)."""

    expansion = 1


# The RegNetX models of the paper's table (w0, wa, wm, group width, depth), as MMDetection names them.
ARCHS: dict[str, dict[str, float]] = {
    "regnetx_400mf": dict(w0=24, wa=24.48, wm=2.54, group_w=16, depth=22, bot_mul=1.0),
    "regnetx_800mf": dict(w0=56, wa=35.73, wm=2.28, group_w=16, depth=16, bot_mul=1.0),
    "regnetx_1.6gf": dict(w0=80, wa=34.01, wm=2.25, group_w=24, depth=18, bot_mul=1.0),
    "regnetx_3.2gf": dict(w0=88, wa=26.31, wm=2.25, group_w=48, depth=25, bot_mul=1.0),
    "regnetx_4.0gf": dict(w0=96, wa=38.65, wm=2.43, group_w=40, depth=23, bot_mul=1.0),
    "regnetx_6.4gf": dict(w0=184, wa=60.83, wm=2.07, group_w=56, depth=17, bot_mul=1.0),
    "regnetx_8.0gf": dict(w0=80, wa=49.56, wm=2.88, group_w=120, depth=23, bot_mul=1.0),
    "regnetx_12gf": dict(w0=168, wa=73.36, wm=2.37, group_w=112, depth=19, bot_mul=1.0),
}


def regnet_stages(
    w0: float, wa: float, wm: float, depth: int, group_w: int, bot_mul: float = 1.0, divisor: int = 8
) -> list[tuple[int, int, int]]:
    """``(width, blocks, group width)`` of each stage.

    Block ``j`` of ``depth`` has the continuous width ``w0 + wa * j``, snapped to ``w0 * wm**s``
    (``s`` the rounded exponent) and to a multiple of ``divisor``; blocks of equal width form a
    stage. Each stage's bottleneck width (``width * bot_mul``) is then rounded to a multiple of its
    group width (at most the bottleneck width).
    """
    if wa < 0 or w0 <= 0 or wm <= 1 or w0 % divisor:
        raise ValueError(
            f"RegNet arch needs wa >= 0, w0 > 0 and a multiple of {divisor}, wm > 1; got {w0=}, {wa=}, {wm=}"
        )
    continuous = np.arange(depth) * wa + w0
    exponents = np.round(np.log(continuous / w0) / np.log(wm))
    widths = (np.round(w0 * np.power(wm, exponents) / divisor) * divisor).astype(int)
    stage_widths, blocks = np.unique(widths, return_counts=True)  # widths never decrease
    stages = []
    for width, count in zip(stage_widths.tolist(), blocks.tolist()):
        bottleneck = int(width * bot_mul)
        group = min(group_w, bottleneck)
        bottleneck = int(round(bottleneck / group) * group)
        stages.append((int(bottleneck / bot_mul), count, group))
    return stages


@MODELS.register_module()
class RegNet(ResNet):
    """RegNet backbone (MMDetection's arguments and checkpoint keys).

    Args:
        arch: a name of :data:`ARCHS` (``'regnetx_3.2gf'``...) or ``dict(w0, wa, wm, group_w,
            depth, bot_mul)``.
        stem_channels: channels of the stem (one 3x3 stride-2 conv, no max pooling).
        base_channels: unused (the widths come from ``arch``); kept for MMDetection's signature.
        strides, dilations: one per stage (4 stages for every model of the table).
        The other arguments: as :class:`ResNet`'s.
    """

    arch_settings = ARCHS

    def __init__(
        self,
        arch: str | dict,
        in_channels: int = 3,
        stem_channels: int = 32,
        base_channels: int = 32,
        strides: Sequence[int] = (2, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: tuple[int, ...] = (0, 1, 2, 3),
        style: str = "pytorch",
        deep_stem: bool = False,
        avg_down: bool = False,
        frozen_stages: int = -1,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        norm_eval: bool = True,
        dcn: dict | None = None,
        stage_with_dcn: Sequence[bool] = (False, False, False, False),
        plugins: list | None = None,
        with_cp: bool | Sequence[bool] = False,
        zero_init_residual: bool = True,
        pretrained: str | None = None,
        init_cfg: dict | list | None = None,
    ) -> None:
        if isinstance(arch, str):
            if arch not in ARCHS:
                raise KeyError(f"RegNet: unknown arch {arch!r}; choose from {sorted(ARCHS)} or give a dict")
            arch = ARCHS[arch]
        elif not isinstance(arch, dict):
            raise TypeError(f"RegNet: arch must be a name or a dict, got {type(arch).__name__}")
        missing = {"w0", "wa", "wm", "group_w", "depth"} - set(arch)
        if missing:
            raise KeyError(f"RegNet: arch dict lacks {sorted(missing)}")
        if deep_stem:
            raise ValueError("RegNet: deep_stem is not part of RegNet (its stem is one 3x3 conv)")
        stages = regnet_stages(
            arch["w0"], arch["wa"], arch["wm"], int(arch["depth"]), int(arch["group_w"]), arch.get("bot_mul", 1.0)
        )
        if len(strides) != len(stages) or len(dilations) != len(stages):
            raise ValueError(
                f"RegNet: {len(stages)} stages need as many strides and dilations, got {strides}, {dilations}"
            )
        bot_mul = arch.get("bot_mul", 1.0)
        plan = [
            # a bottleneck of int(width * bot_mul) channels in groups of `group`: base_width / base_channels
            # scale `width` down to the group width, times the number of groups
            StageSpec(RegNetBottleneck, blocks, width, int(round(width * bot_mul)) // group, group, width)
            for width, blocks, group in stages
        ]
        self._build(
            plan, in_channels, stem_channels, strides, dilations, out_indices, style, deep_stem, avg_down,
            frozen_stages, conv_cfg, norm_cfg, norm_eval, dcn, stage_with_dcn, plugins, with_cp,
            zero_init_residual, pretrained, init_cfg,
        )  # fmt: skip
        self.arch = dict(arch)
        self.stage_widths = [width for width, _, _ in stages]

    def _make_stem(self, in_channels: int, stem_channels: int) -> None:
        """One 3x3 stride-2 conv (``conv1``), ``bn1``, ReLU; no max pooling."""
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 3, stride=2, padding=1, bias=False)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.maxpool = nn.Identity()
