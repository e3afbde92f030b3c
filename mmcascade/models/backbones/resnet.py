"""ResNet and ResNeXt backbones, parameter names as in the published checkpoints; the base of the
ResNet family (RegNet, Res2Net, ResNeSt build their stages through :meth:`ResNet._build`).

``style='pytorch'`` puts the stride on the 3x3 conv of a bottleneck, ``'caffe'`` on the first 1x1
conv (the original MSRA / Detectron weights).
"""

from collections.abc import Sequence

import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.registry import MODELS

from ..layers import batchnorms_to_eval
from .resnet_blocks import (
    BasicBlock,
    Bottleneck,
    StageSpec,
    _per_stage,
    conv_norm,
    downsample_shortcut,
    stage_plugins,
    zero_init_last_norms,
)

__all__ = ["BasicBlock", "Bottleneck", "ResNeXt", "ResNet", "StageSpec", "conv_norm"]


@MODELS.register_module()
class ResNet(BaseModule):
    """ResNet backbone returning the feature maps of the stages in ``out_indices``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        stem_channels: width of the stem (default ``base_channels``).
        base_channels: width of the first stage (64; less for tiny models).
        num_stages: 1 to 4.
        strides, dilations: per stage (``(1, 2, 2, 1)`` and ``(1, 1, 1, 2)``: the DC5 models).
        deep_stem: three 3x3 convs instead of the 7x7 stem (ResNetV1c / V1d).
        avg_down: downsample shortcuts by average pooling then a 1x1 conv (ResNetV1d).
        out_indices: stages to output (0-based); the outputs have strides 4, 8, 16, 32.
        style: ``'pytorch'`` or ``'caffe'`` (where the stride of a bottleneck sits).
        frozen_stages: freeze the stem and the first ``frozen_stages`` stages (-1: none).
        norm_cfg: ``dict(type='BN' | 'SyncBN' | 'GN', requires_grad=..., num_groups=...)``.
        conv_cfg: the convolutions' type (``None``: ``nn.Conv2d``; ``dict(type='ConvWS')``:
            weight standardisation, the GN+WS rows).
        norm_eval: keep BatchNorm layers in eval mode while training (frozen statistics).
        zero_init_residual: zero the last norm of each block at init.
        with_cp: recompute each block's activations in the backward pass (activation
            checkpointing): less training memory for more time. ``True`` for every stage, or
            one bool per stage, e.g. ``(False, True, False, False)`` for ``layer2`` only.
        plugins: modules inside the bottlenecks, MMDetection's ``dict(cfg=dict(type='ContextBlock',
            ratio=1. / 4), stages=(False, True, True, True), position='after_conv3')`` (GCNet);
            ``cfg`` is any mmcv plugin layer (``ContextBlock``, ``GeneralizedAttention``, ``NonLocal2d``...).
        init_cfg: e.g. ``dict(type='Pretrained', checkpoint='torchvision://resnet50')``.
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(
        self,
        depth: int,
        in_channels: int = 3,
        stem_channels: int | None = None,
        base_channels: int = 64,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
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
        groups: int = 1,
        base_width: int = 64,
    ) -> None:
        if depth not in self.arch_settings:
            raise KeyError(f"invalid depth {depth} for {type(self).__name__}; choose from {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 4:
            raise ValueError(f"num_stages must be 1 to 4, got {num_stages}")
        block, stage_blocks = self.arch_settings[depth]
        plan = [
            StageSpec(block, n, base_channels * 2**i, groups, base_width, base_channels)
            for i, n in enumerate(stage_blocks[:num_stages])
        ]
        stem_channels = base_channels if stem_channels is None else stem_channels
        self._build(
            plan, in_channels, stem_channels, strides, dilations, out_indices, style, deep_stem, avg_down,
            frozen_stages, conv_cfg, norm_cfg, norm_eval, dcn, stage_with_dcn, plugins, with_cp,
            zero_init_residual, pretrained, init_cfg,
        )  # fmt: skip
        self.depth = depth

    def _build(
        self,
        plan: "list[StageSpec]",
        in_channels: int,
        stem_channels: int,
        strides: Sequence[int],
        dilations: Sequence[int],
        out_indices: Sequence[int],
        style: str,
        deep_stem: bool,
        avg_down: bool,
        frozen_stages: int,
        conv_cfg: dict | None,
        norm_cfg: dict | None,
        norm_eval: bool,
        dcn: dict | None,
        stage_with_dcn: Sequence[bool],
        plugins: list | None,
        with_cp: bool | Sequence[bool],
        zero_init_residual: bool,
        pretrained: str | None,
        init_cfg: dict | list | None,
    ) -> None:
        """Everything but the stage plan, shared by the ResNet family (ResNet, ResNeXt, RegNet...)."""
        self._check_plan(plan, strides, dilations, out_indices, plugins, dcn, stage_with_dcn)
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError(f"{type(self).__name__}: give init_cfg or pretrained, not both")
            init_cfg = dict(type="Pretrained", checkpoint=pretrained)  # MMDetection's deprecated spelling
        if init_cfg is None:
            init_cfg = [
                dict(type="Kaiming", layer="Conv2d"),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            ]
        num_stages = len(plan)
        BaseModule.__init__(self, init_cfg)
        self.style = style
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_cfg = norm_cfg or dict(type="BN", requires_grad=True)
        self.conv_cfg = conv_cfg
        self.norm_eval = norm_eval
        self.dcn = dcn
        self.stage_with_dcn = tuple(stage_with_dcn) if dcn is not None else (False,) * num_stages
        self.stage_with_cp = _per_stage(with_cp, num_stages)
        self.with_cp = any(self.stage_with_cp)
        self.zero_init_residual = zero_init_residual
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.plugins = plugins  # checked, and split by stage, before anything is built
        self.plugins_per_stage = [stage_plugins(plugins, i, num_stages, type(self).__name__) for i in range(num_stages)]
        self.stem_channels = stem_channels
        self._make_stem(in_channels, stem_channels)
        self.feat_dim = self._make_stages(plan, stem_channels)
        self._freeze_stages()

    def _make_stages(self, plan: "list[StageSpec]", stem_channels: int) -> int:
        """``layer1`` ... from the plan; returns the last stage's output channels."""
        self.res_layers = []
        inplanes = stem_channels
        for i, spec in enumerate(plan):
            layer = self._make_layer(
                spec.block,
                inplanes,
                spec.planes,
                spec.num_blocks,
                self.strides[i],
                spec.groups,
                spec.base_width,
                spec.base_channels,
                self.stage_with_cp[i],
                self.dilations[i],
                self.dcn if self.stage_with_dcn[i] else None,
                self.plugins_per_stage[i],
            )
            inplanes = spec.planes * spec.block.expansion
            self.add_module(f"layer{i + 1}", layer)
            self.res_layers.append(f"layer{i + 1}")
        return inplanes

    def _check_plan(
        self,
        plan: "list[StageSpec]",
        strides: Sequence[int],
        dilations: Sequence[int],
        out_indices: Sequence[int],
        plugins: list | None,
        dcn: dict | None,
        stage_with_dcn: Sequence[bool],
    ) -> None:
        num_stages, name = len(plan), type(self).__name__
        if not out_indices or max(out_indices) >= num_stages:
            raise ValueError(f"{name}: out_indices={tuple(out_indices)} do not fit {num_stages} stages")
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise ValueError(
                f"{name}: strides {tuple(strides)} and dilations {tuple(dilations)} need {num_stages} entries"
            )
        if plugins and any(spec.block is not Bottleneck for spec in plan):
            raise ValueError(f"{name}: plugins run in ResNet / ResNeXt bottlenecks only; remove 'plugins'")
        if dcn is not None and len(stage_with_dcn) != num_stages:
            raise ValueError(f"{name}: stage_with_dcn needs {num_stages} entries, got {tuple(stage_with_dcn)}")

    def _make_stem(self, in_channels: int, stem_channels: int) -> None:
        """A 7x7 stride-2 conv (``conv1``, ``norm1``), or with ``deep_stem`` three 3x3 convs
        (``stem``: the first with stride 2, half the channels in the first two), then max pooling."""
        self.relu = nn.ReLU(inplace=True)
        if self.deep_stem:
            half = stem_channels // 2
            layers: list[nn.Module] = []
            for cin, cout, stride in ((in_channels, half, 2), (half, half, 1), (half, stem_channels, 1)):
                layers += [
                    build_conv_layer(self.conv_cfg, cin, cout, 3, stride=stride, padding=1, bias=False),
                    build_norm_layer(self.norm_cfg, cout)[1],
                    nn.ReLU(inplace=True),
                ]
            self.stem = nn.Sequential(*layers)
        else:
            self.conv1 = build_conv_layer(self.conv_cfg, in_channels, stem_channels, 7, stride=2, padding=3, bias=False)
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _make_layer(
        self,
        block: type,
        inplanes: int,
        planes: int,
        num_blocks: int,
        stride: int,
        groups: int,
        base_width: int,
        base_channels: int,
        with_cp: bool,
        dilation: int = 1,
        dcn: dict | None = None,
        plugins: list[dict] | None = None,
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or inplanes != planes * block.expansion:
            downsample = downsample_shortcut(
                inplanes, planes * block.expansion, stride, self.conv_cfg, self.norm_cfg, self.avg_down
            )
        common = dict(
            style=self.style,
            norm_cfg=self.norm_cfg,
            conv_cfg=self.conv_cfg,
            groups=groups,
            base_width=base_width,
            base_channels=base_channels,
            with_cp=with_cp,
            dilation=dilation,
        )
        if dcn is not None:
            common["dcn"] = dcn
        if plugins:
            common["plugins"] = plugins
        layers = [block(inplanes, planes, stride, downsample, **common, **self._block_options(first=True))]
        layers += [
            block(planes * block.expansion, planes, **common, **self._block_options(first=False))
            for _ in range(1, num_blocks)
        ]
        return nn.Sequential(*layers)

    def _block_options(self, first: bool) -> dict:
        """Extra arguments of the blocks (Res2Net: ``scales``, and ``stage_type`` of the first)."""
        return {}

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        stem = [self.stem] if self.deep_stem else [self.conv1, getattr(self, self.norm1_name)]
        layers = [getattr(self, f"layer{i}") for i in range(1, self.frozen_stages + 1)]
        for module in stem + layers:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        super().init_weights()
        pretrained = isinstance(self.init_cfg, dict) and self.init_cfg.get("type") == "Pretrained"
        if self.zero_init_residual and not pretrained:
            zero_init_last_norms(self)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        if self.deep_stem:
            x = self.maxpool(self.stem(x))
        else:
            x = self.maxpool(self.relu(conv_norm(self.conv1, getattr(self, self.norm1_name), x)))
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> "ResNet":
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            batchnorms_to_eval(self)
        return self


@MODELS.register_module()
class ResNeXt(ResNet):
    """ResNet with grouped 3x3 convs: ``groups`` x ``base_width`` d (32x4d, 64x4d, 32x8d)."""

    def __init__(self, groups: int = 32, base_width: int = 4, **kwargs) -> None:
        if kwargs.get("depth") in (18, 34):
            raise ValueError("ResNeXt needs a bottleneck depth (50, 101 or 152)")
        super().__init__(groups=groups, base_width=base_width, **kwargs)
