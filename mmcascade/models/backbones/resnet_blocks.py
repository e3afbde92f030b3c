"""The blocks of the ResNet family (basic block, bottleneck), their shared helpers (activation
checkpointing, BatchNorm folded into the conv at inference, the deformable 3x3 conv choice) and the
stage plan a ResNet-family backbone is built from. Parameter names as in the published checkpoints.

``style='pytorch'`` puts the stride on the 3x3 conv of a bottleneck, ``'caffe'`` on the first 1x1
conv (the original MSRA / Detectron weights).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import build_conv_layer, build_norm_layer, build_plugin_layer
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

# where a bottleneck runs its plugins (GCNet's ContextBlock, GeneralizedAttention...), MMDetection's names
PLUGIN_POSITIONS = ("after_conv1", "after_conv2", "after_conv3")


def stage_plugins(plugins: list[dict] | None, stage: int, num_stages: int, backbone: str) -> list[dict]:
    """The plugins of ``stage`` (0-based): each ``dict(cfg=..., position=..., stages=...)`` whose
    ``stages`` (one bool per stage; all stages when absent) includes it, checked."""
    chosen = []
    for plugin in plugins or []:
        unknown = set(plugin) - {"cfg", "position", "stages"}
        if unknown or "cfg" not in plugin or plugin.get("position") not in PLUGIN_POSITIONS:
            raise ValueError(
                f"{backbone}: a plugin is dict(cfg=..., position=one of {PLUGIN_POSITIONS}, stages=...), got {plugin}"
            )
        stages = plugin.get("stages")
        if stages is not None and len(stages) != num_stages:
            raise ValueError(f"{backbone}: plugin stages {tuple(stages)} need {num_stages} entries")
        if stages is None or stages[stage]:
            chosen.append(dict(cfg=plugin["cfg"], position=plugin["position"]))
    return chosen


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


def downsample_shortcut(
    inplanes: int, outplanes: int, stride: int, conv_cfg: dict | None, norm_cfg: dict, avg_down: bool = False
) -> nn.Sequential:
    """The shortcut of a stage's first block: a strided 1x1 conv and a norm, or with ``avg_down``
    average pooling (``stride`` x ``stride``; 1 x 1 where the stride is 1, so that ``downsample.1``
    is the conv in every stage, as in MMDetection's ResNetV1d checkpoints) then a stride-1 1x1 conv
    (ResNet-D)."""
    layers: list[nn.Module] = []
    conv_stride = stride
    if avg_down:
        conv_stride = 1
        layers.append(nn.AvgPool2d(stride, stride, ceil_mode=True, count_include_pad=False))
    layers += [
        build_conv_layer(conv_cfg, inplanes, outplanes, 1, stride=conv_stride, bias=False),
        build_norm_layer(norm_cfg, outplanes)[1],
    ]
    return nn.Sequential(*layers)


def _conv2_cfg(conv_cfg: dict | None, dcn: dict | None, stride: int) -> dict | None:
    """The 3x3 conv of a bottleneck: ``dcn`` (``dict(type='DCN' | 'DCNv2', deform_groups=...,
    fallback_on_stride=False)``) where given, unless it falls back to ``conv_cfg`` on a strided
    conv (``fallback_on_stride=True``)."""
    if dcn is None:
        return conv_cfg
    dcn = dict(dcn)
    fallback = dcn.pop("fallback_on_stride", False)
    if conv_cfg is not None and not (fallback and stride > 1):
        raise ValueError(f"conv_cfg={conv_cfg} and dcn={dcn} both set the bottleneck's 3x3 conv: give one")
    return conv_cfg if fallback and stride > 1 else dcn


@dataclass(frozen=True)
class StageSpec:
    """One stage of a ResNet-family backbone: ``num_blocks`` blocks of type ``block`` with
    ``planes`` channels (times ``block.expansion`` out), grouped 3x3 convs of ``groups`` x
    ``base_width`` channels per ``base_channels`` planes (ResNeXt / RegNet)."""

    block: type
    num_blocks: int
    planes: int
    groups: int = 1
    base_width: int = 64
    base_channels: int = 64


class ResidualBlock(BaseModule):
    """What the ResNet family's blocks share: ``forward`` is ``relu(_residual(x))`` (the subclass's
    branch plus the shortcut; with ``with_cp`` in training the branch's activations are recomputed
    in the backward pass), the ``style`` strides, and the ``relu`` / ``downsample`` modules,
    registered last by :meth:`_add_shortcut` so that the state dict keeps MMDetection's order."""

    expansion = 1

    def __init__(self, with_cp: bool, style: str = "pytorch") -> None:
        super().__init__()
        if style not in ("pytorch", "caffe"):
            raise ValueError(f"style must be 'pytorch' or 'caffe', got {style!r}")
        self.with_cp = with_cp

    @staticmethod
    def style_strides(style: str, stride: int) -> tuple[int, int]:
        """The strides of the first 1x1 conv and of the 3x3 conv: the 3x3 conv strides
        (``'pytorch'``) or the 1x1 conv does (``'caffe'``)."""
        return (1, stride) if style == "pytorch" else (stride, 1)

    def _add_shortcut(self, downsample: nn.Module | None) -> None:
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        return _maybe_checkpoint(self, self._residual, x)

    def _residual(self, x: Tensor) -> Tensor:
        raise NotImplementedError


class BasicBlock(ResidualBlock):
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
        dcn: dict | None = None,
    ) -> None:
        super().__init__(with_cp, style)
        if dcn is not None:
            raise ValueError("BasicBlock (ResNet-18/34) has no deformable conv (dcn): use a bottleneck depth")
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
        self._add_shortcut(downsample)

    def _residual(self, x: Tensor) -> Tensor:
        identity = _downsample(self.downsample, x)
        out = self.relu(conv_norm(self.conv1, getattr(self, self.norm1_name), x))
        out = conv_norm(self.conv2, getattr(self, self.norm2_name), out)
        out += identity  # in place: the norm's output is not needed by its backward
        return out


class Bottleneck(ResidualBlock):
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
        dcn: dict | None = None,
        plugins: list[dict] | None = None,
    ) -> None:
        super().__init__(with_cp, style)
        norm_cfg = norm_cfg or dict(type="BN")
        width = planes if groups == 1 else (planes * base_width // base_channels) * groups
        stride1, stride2 = self.style_strides(style, stride)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, width, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, width, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, planes * self.expansion, postfix=3)
        self.conv1 = build_conv_layer(conv_cfg, inplanes, width, 1, stride=stride1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(
            _conv2_cfg(conv_cfg, dcn, stride2),
            width,
            width,
            3,
            stride=stride2,
            padding=dilation,
            dilation=dilation,
            groups=groups,
            bias=False,
        )
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, width, planes * self.expansion, 1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self._add_shortcut(downsample)
        channels = dict(after_conv1=width, after_conv2=width, after_conv3=planes * self.expansion)
        self.plugin_names: dict[str, list[str]] = {position: [] for position in PLUGIN_POSITIONS}
        for plugin in plugins or []:
            cfg = dict(plugin["cfg"])
            name, layer = build_plugin_layer(
                cfg, in_channels=channels[plugin["position"]], postfix=cfg.pop("postfix", "")
            )
            if hasattr(self, name):
                raise ValueError(f"two plugins of a bottleneck are both named {name!r}; give one a 'postfix'")
            self.add_module(name, layer)
            self.plugin_names[plugin["position"]].append(name)

    def _plugins(self, position: str, x: Tensor) -> Tensor:
        for name in self.plugin_names[position]:
            x = getattr(self, name)(x)
        return x

    def _residual(self, x: Tensor) -> Tensor:
        identity = _downsample(self.downsample, x)
        out = self.relu(conv_norm(self.conv1, getattr(self, self.norm1_name), x))
        out = self._plugins("after_conv1", out)
        out = self.relu(conv_norm(self.conv2, getattr(self, self.norm2_name), out))
        out = self._plugins("after_conv2", out)
        out = self._plugins("after_conv3", conv_norm(self.conv3, getattr(self, self.norm3_name), out))
        out += identity  # in place: one map less alive at the block's peak
        return out


def zero_init_last_norms(model: nn.Module) -> None:
    """Zero the last norm's scale of every residual block (``BasicBlock``'s ``norm2``,
    ``Bottleneck``'s ``norm3``) in ``model``: each block starts as its identity shortcut
    (``zero_init_residual``)."""
    for module in model.modules():
        last = getattr(module, "norm3_name", None) or getattr(module, "norm2_name", None)
        if isinstance(module, (Bottleneck, BasicBlock)) and last is not None:
            nn.init.constant_(getattr(module, last).weight, 0)
