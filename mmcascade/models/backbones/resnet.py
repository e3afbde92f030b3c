"""ResNet and ResNeXt backbones, parameter names as in the published checkpoints.

``style='pytorch'`` puts the stride on the 3x3 conv of a bottleneck, ``'caffe'`` on
the first 1x1 conv (the original MSRA / Detectron weights).
"""

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmcascade.registry import MODELS


def _maybe_checkpoint(block: nn.Module, residual, x: Tensor) -> Tensor:
    """``relu(residual(x))``; with ``block.with_cp`` in training, the residual branch's
    activations are recomputed in the backward pass instead of kept (less memory, more time)."""
    if block.with_cp and block.training and torch.is_grad_enabled():
        return block.relu(cp.checkpoint(residual, x, use_reentrant=False))
    return block.relu(residual(x))


def conv_norm(conv: nn.Module, norm: nn.Module, x: Tensor) -> Tensor:
    """``norm(conv(x))``. At inference (no gradient recorded) with a BatchNorm in eval mode, one
    convolution with the normalisation folded into its weights and bias: the same values up to
    float rounding, one pass over the activations and one map less alive. The module's own
    parameters and buffers (and so checkpoints) are untouched."""
    if (
        torch.is_grad_enabled()
        or not isinstance(norm, _BatchNorm)
        or norm.training
        or norm.running_var is None
        or type(conv) is not nn.Conv2d
        or conv.padding_mode != "zeros"
    ):
        return norm(conv(x))
    scale = torch.rsqrt(norm.running_var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight
    shift = -norm.running_mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias
    if conv.bias is not None:
        shift = shift + conv.bias * scale
    weight = conv.weight * scale.reshape(-1, 1, 1, 1).to(conv.weight.dtype)
    return F.conv2d(x, weight, shift.to(weight.dtype), conv.stride, conv.padding, conv.dilation, conv.groups)


def _downsample(module: nn.Module | None, x: Tensor) -> Tensor:
    if module is None:
        return x
    if isinstance(module, nn.Sequential) and len(module) == 2:
        return conv_norm(module[0], module[1], x)
    return module(x)


def _per_stage(with_cp: bool | Sequence[bool], num_stages: int) -> tuple[bool, ...]:
    """``with_cp`` as one bool per stage; a sequence must have one entry per stage."""
    if isinstance(with_cp, bool):
        return (with_cp,) * num_stages
    flags = tuple(with_cp)
    if len(flags) != num_stages or not all(isinstance(f, bool) for f in flags):
        raise ValueError(f"with_cp must be a bool or {num_stages} bools (one per stage), got {with_cp!r}")
    return flags


class BasicBlock(BaseModule):
    """Two 3x3 convs (ResNet-18/34)."""

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        norm_cfg: dict | None = None,
        groups: int = 1,
        base_width: int = 64,
        base_channels: int = 64,
        with_cp: bool = False,
        conv_cfg: dict | None = None,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock supports only groups=1 and base_width=64")
        norm_cfg = norm_cfg or dict(type="BN")
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, planes, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, planes, postfix=2)
        self.conv1 = build_conv_layer(
            conv_cfg, inplanes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False
        )
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, planes, planes, 3, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        return _maybe_checkpoint(self, self._residual, x)

    def _residual(self, x: Tensor) -> Tensor:
        identity = _downsample(self.downsample, x)
        out = self.relu(conv_norm(self.conv1, getattr(self, self.norm1_name), x))
        out = conv_norm(self.conv2, getattr(self, self.norm2_name), out)
        out += identity  # in place: the norm's output is not needed by its backward
        return out


class Bottleneck(BaseModule):
    """1x1 - 3x3 (grouped for ResNeXt) - 1x1 with a 4x channel expansion."""

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
        base_width: int = 64,
        base_channels: int = 64,
        with_cp: bool = False,
        conv_cfg: dict | None = None,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        self.with_cp = with_cp
        if style not in ("pytorch", "caffe"):
            raise ValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
        norm_cfg = norm_cfg or dict(type="BN")
        width = planes if groups == 1 else (planes * base_width // base_channels) * groups
        stride1, stride2 = (1, stride) if style == "pytorch" else (stride, 1)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, width, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, width, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width, 1, stride=stride1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(
            conv_cfg, width, width, 3, stride=stride2, padding=dilation, dilation=dilation, groups=groups, bias=False
        )
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, width, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        return _maybe_checkpoint(self, self._residual, x)

    def _residual(self, x: Tensor) -> Tensor:
        identity = _downsample(self.downsample, x)
        out = self.relu(conv_norm(self.conv1, getattr(self, self.norm1_name), x))
        out = self.relu(conv_norm(self.conv2, getattr(self, self.norm2_name), out))
        out = conv_norm(self.conv3, getattr(self, self.norm3_name), out)
        out += identity  # in place: one map less alive at the block's peak
        return out


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
        norm_cfg: dict | None = None,
        conv_cfg: dict | None = None,
        norm_eval: bool = True,
        zero_init_residual: bool = True,
        groups: int = 1,
        base_width: int = 64,
        with_cp: bool | Sequence[bool] = False,
        init_cfg: dict | list | None = None,
    ) -> None:
        if depth not in self.arch_settings:
            raise KeyError(f"invalid depth {depth} for ResNet; choose from {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 4 or max(out_indices) >= num_stages:
            raise ValueError(f"num_stages={num_stages} and out_indices={out_indices} do not fit")
        if len(strides) < num_stages or len(dilations) < num_stages:
            raise ValueError(
                f"ResNet: strides {tuple(strides)} and dilations {tuple(dilations)} need {num_stages} entries"
            )
        if init_cfg is None:
            init_cfg = [
                dict(type="Kaiming", layer="Conv2d"),
                dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            ]
        super().__init__(init_cfg)
        self.depth = depth
        self.style = style
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_cfg = norm_cfg or dict(type="BN", requires_grad=True)
        self.conv_cfg = conv_cfg
        self.norm_eval = norm_eval
        self.stage_with_cp = _per_stage(with_cp, num_stages)
        self.with_cp = any(self.stage_with_cp)
        self.zero_init_residual = zero_init_residual
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        stem_channels = base_channels if stem_channels is None else stem_channels
        self._make_stem(in_channels, stem_channels)
        self.feat_dim = self._make_stages(depth, num_stages, stem_channels, base_channels, groups, base_width)
        self._freeze_stages()

    def _make_stages(
        self, depth: int, num_stages: int, stem_channels: int, base_channels: int, groups: int, base_width: int
    ) -> int:
        """``layer1`` ... ``layer{num_stages}``; returns the last stage's output channels."""
        block, stage_blocks = self.arch_settings[depth]
        self.res_layers = []
        inplanes = stem_channels
        for i, num_blocks in enumerate(stage_blocks[:num_stages]):
            planes = base_channels * 2**i
            layer = self._make_layer(
                block,
                inplanes,
                planes,
                num_blocks,
                self.strides[i],
                groups,
                base_width,
                base_channels,
                self.stage_with_cp[i],
                self.dilations[i],
            )
            inplanes = planes * block.expansion
            self.add_module(f"layer{i + 1}", layer)
            self.res_layers.append(f"layer{i + 1}")
        return inplanes

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
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or inplanes != planes * block.expansion:
            layers: list[nn.Module] = []
            conv_stride = stride
            if self.avg_down and stride != 1:  # average-pool, then a stride-1 1x1 conv (ResNet-D)
                conv_stride = 1
                layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False))
            layers += [
                build_conv_layer(self.conv_cfg, inplanes, planes * block.expansion, 1, stride=conv_stride, bias=False),
                build_norm_layer(self.norm_cfg, planes * block.expansion)[1],
            ]
            downsample = nn.Sequential(*layers)
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
        layers = [block(inplanes, planes, stride, downsample, **common)]
        layers += [block(planes * block.expansion, planes, **common) for _ in range(1, num_blocks)]
        return nn.Sequential(*layers)

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
            for module in self.modules():
                last = getattr(module, "norm3_name", None) or getattr(module, "norm2_name", None)
                if isinstance(module, (Bottleneck, BasicBlock)) and last is not None:
                    nn.init.constant_(getattr(module, last).weight, 0)

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
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


@MODELS.register_module()
class ResNeXt(ResNet):
    """ResNet with grouped 3x3 convs: ``groups`` x ``base_width`` d (32x4d, 64x4d, 32x8d)."""

    def __init__(self, groups: int = 32, base_width: int = 4, **kwargs) -> None:
        if kwargs.get("depth") in (18, 34):
            raise ValueError("ResNeXt needs a bottleneck depth (50, 101 or 152)")
        super().__init__(groups=groups, base_width=base_width, **kwargs)
