"""HRNet (Sun et al., *Deep High-Resolution Representation Learning*, CVPR 2019 / TPAMI 2020):
parallel branches at strides 4, 8, 16 and 32 that keep exchanging information, a new lower
resolution branch added at each stage. MMDetection's names, ``extra`` layout and checkpoint keys
(``transition{k}``, ``stage{k}.{module}.branches`` / ``fuse_layers``)."""

from collections.abc import Sequence

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.registry import MODELS

from ..layers import batchnorms_to_eval
from .resnet_blocks import BasicBlock, Bottleneck, conv_norm, zero_init_last_norms

BLOCKS: dict[str, type] = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}


def _conv_bn(conv_cfg: dict | None, norm_cfg: dict, cin: int, cout: int, k: int, stride: int = 1) -> list[nn.Module]:
    conv = build_conv_layer(conv_cfg, cin, cout, k, stride=stride, padding=k // 2, bias=False)
    return [conv, build_norm_layer(norm_cfg, cout)[1]]


class HRModule(BaseModule):
    """One exchange unit: each branch runs its blocks, then every output branch ``i`` sums all
    branches brought to its resolution (1x1 conv + nearest upsampling from lower resolutions, chains
    of stride-2 3x3 convs from higher ones) and applies ReLU. ``multiscale_output=False`` keeps
    only the highest-resolution output.

    ``forward``: list of ``num_branches`` maps ``(N, C_i, H / 2**i, W / 2**i)`` -> list of outputs.
    """

    def __init__(
        self,
        num_branches: int,
        block: type,
        num_blocks: Sequence[int],
        in_channels: Sequence[int],
        num_channels: Sequence[int],
        multiscale_output: bool = True,
        with_cp: bool = False,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        if not len(num_blocks) == len(in_channels) == len(num_channels) == num_branches:
            raise ValueError(
                f"HRModule: num_blocks {tuple(num_blocks)}, in_channels {tuple(in_channels)} and num_channels "
                f"{tuple(num_channels)} need num_branches={num_branches} entries each"
            )
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg or dict(type="BN")
        self.num_branches, self.multiscale_output = num_branches, multiscale_output
        self.in_channels = list(in_channels)
        self.branches = nn.ModuleList(
            self._make_branch(i, block, num_blocks[i], num_channels[i], with_cp) for i in range(num_branches)
        )
        self.fuse_layers = self._make_fuse_layers() if num_branches > 1 else None
        self.relu = nn.ReLU(inplace=False)

    def _make_branch(self, i: int, block: type, blocks: int, channels: int, with_cp: bool) -> nn.Sequential:
        out = channels * block.expansion
        downsample = None
        if self.in_channels[i] != out:
            downsample = nn.Sequential(*_conv_bn(self.conv_cfg, self.norm_cfg, self.in_channels[i], out, 1))
        common = dict(norm_cfg=self.norm_cfg, conv_cfg=self.conv_cfg, with_cp=with_cp)
        layers = [block(self.in_channels[i], channels, 1, downsample, **common)]
        layers += [block(out, channels, **common) for _ in range(1, blocks)]
        self.in_channels[i] = out
        return nn.Sequential(*layers)

    def _make_fuse_layers(self) -> nn.ModuleList:
        ch, cfgs = self.in_channels, (self.conv_cfg, self.norm_cfg)
        fuse_layers = nn.ModuleList()
        for i in range(self.num_branches if self.multiscale_output else 1):
            row = nn.ModuleList()
            for j in range(self.num_branches):
                if j > i:  # lower resolution: 1x1 conv to branch i's width, then nearest upsampling
                    up = nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")
                    row.append(nn.Sequential(*_conv_bn(*cfgs, ch[j], ch[i], 1), up))
                elif j == i:
                    row.append(None)
                else:  # higher resolution: i - j stride-2 3x3 convs, ReLU between them
                    steps = [
                        nn.Sequential(*_conv_bn(*cfgs, ch[j], ch[i], 3, 2))
                        if k == i - j - 1
                        else nn.Sequential(*_conv_bn(*cfgs, ch[j], ch[j], 3, 2), nn.ReLU(inplace=False))
                        for k in range(i - j)
                    ]
                    row.append(nn.Sequential(*steps))
            fuse_layers.append(row)
        return fuse_layers

    def forward(self, x: list[Tensor]) -> list[Tensor]:
        x = [branch(xi) for branch, xi in zip(self.branches, x)]
        if self.fuse_layers is None:
            return x
        outs = []
        for i, row in enumerate(self.fuse_layers):
            # summed in branch order, the branch's own map at its place (MMDetection's order: the
            # same float rounding, so the same results)
            y = None
            for j, fuse in enumerate(row):
                term = x[j] if j == i else fuse(x[j])
                y = term if y is None else y + term
            outs.append(self.relu(y))
        return outs


@MODELS.register_module()
class HRNet(BaseModule):
    """HRNet backbone (HRNetV2: every branch is an output).

    Args:
        extra: ``stage1`` ... ``stage4``, each ``dict(num_modules, num_branches, block ('BASIC' |
            'BOTTLENECK'), num_blocks, num_channels)`` (MMDetection's layout; stage 1 has one branch).
        norm_eval: keep BatchNorm layers in eval mode while training.
        with_cp: recompute each block's activations in the backward pass.
        zero_init_residual: zero the last norm of each block at init.
        multiscale_output: all four outputs (True), or only the stride-4 one.
        pretrained / init_cfg: as for :class:`~mmcascade.models.backbones.ResNet`.

    ``forward``: ``(N, 3, H, W)`` -> outputs at strides 4, 8, 16, 32 (``num_channels`` of stage 4).
    """

    def __init__(
        self,
        extra: dict,
        in_channels: int = 3,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        norm_eval: bool = True,
        with_cp: bool = False,
        zero_init_residual: bool = False,
        multiscale_output: bool = True,
        pretrained: str | None = None,
        init_cfg: dict | list | None = None,
    ) -> None:
        missing = [s for s in ("stage1", "stage2", "stage3", "stage4") if s not in extra]
        if missing:
            raise KeyError(f"HRNet: extra lacks {missing}")
        for name in ("stage1", "stage2", "stage3", "stage4"):
            if extra[name]["block"] not in BLOCKS:
                raise ValueError(f"HRNet: extra.{name}.block={extra[name]['block']!r}; choose from {sorted(BLOCKS)}")
        if pretrained is not None:
            init_cfg = dict(type="Pretrained", checkpoint=pretrained)
        if init_cfg is None:
            init_cfg = [
                dict(type="Kaiming", layer="Conv2d"),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            ]
        super().__init__(init_cfg)
        self.extra, self.conv_cfg, self.norm_cfg = extra, conv_cfg, norm_cfg or dict(type="BN")
        self.norm_eval, self.with_cp, self.zero_init_residual = norm_eval, with_cp, zero_init_residual
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, 64, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(self.norm_cfg, 64, postfix=2)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, 64, 3, stride=2, padding=1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, 64, 64, 3, stride=2, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        stage1 = extra["stage1"]
        block = BLOCKS[stage1["block"]]
        self.layer1 = self._make_layer(block, 64, stage1["num_channels"][0], stage1["num_blocks"][0])
        channels = [stage1["num_channels"][0] * block.expansion]
        for k in (2, 3, 4):
            cfg = extra[f"stage{k}"]
            wanted = [c * BLOCKS[cfg["block"]].expansion for c in cfg["num_channels"]]
            self.add_module(f"transition{k - 1}", self._make_transition(channels, wanted))
            stage, channels = self._make_stage(cfg, wanted, multiscale_output or k < 4)
            self.add_module(f"stage{k}", stage)

    def _make_layer(self, block: type, inplanes: int, planes: int, blocks: int) -> nn.Sequential:
        downsample = None
        if inplanes != planes * block.expansion:
            downsample = nn.Sequential(*_conv_bn(self.conv_cfg, self.norm_cfg, inplanes, planes * block.expansion, 1))
        common = dict(norm_cfg=self.norm_cfg, conv_cfg=self.conv_cfg, with_cp=self.with_cp)
        layers = [block(inplanes, planes, 1, downsample, **common)]
        layers += [block(planes * block.expansion, planes, **common) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _make_transition(self, before: list[int], after: list[int]) -> nn.ModuleList:
        """Per branch of the next stage: a 3x3 conv where an existing branch changes width (None
        where it does not), or for a new branch stride-2 3x3 convs from the lowest resolution."""
        layers = nn.ModuleList()
        for i, out in enumerate(after):
            if i < len(before):
                same = out == before[i]
                layers.append(
                    None
                    if same
                    else nn.Sequential(
                        *_conv_bn(self.conv_cfg, self.norm_cfg, before[i], out, 3), nn.ReLU(inplace=True)
                    )
                )
                continue
            steps = []
            for j in range(i + 1 - len(before)):
                cin = before[-1]
                cout = out if j == i - len(before) else cin
                steps.append(
                    nn.Sequential(*_conv_bn(self.conv_cfg, self.norm_cfg, cin, cout, 3, 2), nn.ReLU(inplace=True))
                )
            layers.append(nn.Sequential(*steps))
        return layers

    def _make_stage(
        self, cfg: dict, in_channels: list[int], multiscale_output: bool
    ) -> tuple[nn.Sequential, list[int]]:
        modules = []
        for m in range(cfg["num_modules"]):
            module = HRModule(
                cfg["num_branches"],
                BLOCKS[cfg["block"]],
                cfg["num_blocks"],
                in_channels,
                cfg["num_channels"],
                multiscale_output=multiscale_output or m < cfg["num_modules"] - 1,
                with_cp=self.with_cp,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
            )
            in_channels = module.in_channels
            modules.append(module)
        return nn.Sequential(*modules), in_channels

    def init_weights(self) -> None:
        super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained"
        if self.zero_init_residual and not pretrained:
            zero_init_last_norms(self)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.relu(conv_norm(self.conv1, getattr(self, self.norm1_name), x))
        x = self.relu(conv_norm(self.conv2, getattr(self, self.norm2_name), x))
        feats = [self.layer1(x)]
        for k in (2, 3, 4):
            transition = getattr(self, f"transition{k - 1}")
            # as MMDetection: a branch with a transition starts from the previous stage's last output
            feats = [t(feats[-1]) if t is not None else feats[i] for i, t in enumerate(transition)]
            feats = getattr(self, f"stage{k}")(feats)
        return feats

    def train(self, mode: bool = True) -> "HRNet":
        super().train(mode)
        if mode and self.norm_eval:
            batchnorms_to_eval(self)
        return self
