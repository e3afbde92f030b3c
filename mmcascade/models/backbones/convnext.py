"""ConvNeXt (Liu et al., *A ConvNet for the 2020s*, CVPR 2022; GRN from ConvNeXt V2, Woo et al.,
CVPR 2023) with mmpretrain's arguments and checkpoint keys (``downsample_layers``, ``stages.i.j``,
``norm{i}``), which MMDetection's ConvNeXt configs name as ``mmpretrain.ConvNeXt``.

Without mmpretrain installed, this class also answers to ``mmpretrain.ConvNeXt`` (a registry of
scope ``mmpretrain`` is created for it), so those configs run unchanged: mmpretrain would pull in
torchvision and its whole classification stack for one backbone. Where mmpretrain is installed,
its own ConvNeXt answers to that name.
"""

import importlib.util
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry
from torch import Tensor

from mmcascade.models.layers.drop_path import drop_path
from mmcascade.registry import MODELS


class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over the channels of an ``(N, C, H, W)`` map (or of ``(..., C)`` rows with
    ``data_format='channel_last'``)."""

    def forward(self, x: Tensor, data_format: str = "channel_first") -> Tensor:
        if data_format == "channel_last":
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        # contiguous NCHW again: a permuted (channels-last) map would make the next conv pick
        # another kernel, whose rounding differs from mmpretrain's (and MMDetection's results)
        return x.permute(0, 3, 1, 2).contiguous()


class GRN(nn.Module):
    """Global response normalisation (ConvNeXt V2): each channel scaled by its spatial L2 norm
    over the channels' mean norm, with learned ``gamma`` / ``beta`` and a residual."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.zeros(channels))
        self.beta = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, data_format: str = "channel_first") -> Tensor:
        if data_format == "channel_last":
            gx = torch.norm(x, p=2, dim=(1, 2), keepdim=True)
            nx = gx / (gx.mean(dim=-1, keepdim=True) + self.eps)
            return self.gamma * (x * nx) + self.beta + x
        gx = torch.norm(x, p=2, dim=(2, 3), keepdim=True)
        nx = gx / (gx.mean(dim=1, keepdim=True) + self.eps)
        return self.gamma.view(1, -1, 1, 1) * (x * nx) + self.beta.view(1, -1, 1, 1) + x


class ConvNeXtBlock(BaseModule):
    """7x7 depthwise conv, LayerNorm, pointwise MLP (4x wider, GELU, optional GRN), layer scale
    ``gamma``, stochastic depth, residual."""

    def __init__(
        self,
        channels: int,
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 1e-6,
        linear_pw_conv: bool = True,
        use_grn: bool = False,
        eps: float = 1e-6,
        with_cp: bool = False,
        mlp_ratio: float = 4.0,
    ) -> None:
        super().__init__()
        self.with_cp, self.linear_pw_conv = with_cp, linear_pw_conv
        hidden = int(mlp_ratio * channels)
        self.depthwise_conv = nn.Conv2d(channels, channels, 7, padding=3, groups=channels)
        self.norm = LayerNorm2d(channels, eps=eps)
        pw = nn.Linear if linear_pw_conv else (lambda cin, cout: nn.Conv2d(cin, cout, 1))
        self.pointwise_conv1 = pw(channels, hidden)
        self.act = nn.GELU()
        self.pointwise_conv2 = pw(hidden, channels)
        if use_grn:
            self.grn = GRN(hidden)
        self.use_grn = use_grn
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(channels)) if layer_scale_init_value > 0 else None
        self.drop_path = drop_path(drop_path_rate)

    def _branch(self, x: Tensor) -> Tensor:
        x = self.depthwise_conv(x)
        layout = "channel_last" if self.linear_pw_conv else "channel_first"
        if self.linear_pw_conv:
            x = x.permute(0, 2, 3, 1)
        x = self.act(self.pointwise_conv1(self.norm(x, data_format=layout)))
        if self.use_grn:
            x = self.grn(x, data_format=layout)
        x = self.pointwise_conv2(x)
        if self.linear_pw_conv:
            x = x.permute(0, 3, 1, 2)
        if self.gamma is not None:
            x = x.mul(self.gamma.view(1, -1, 1, 1))
        return self.drop_path(x)

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            return x + cp.checkpoint(self._branch, x, use_reentrant=False)
        return x + self._branch(x)


@MODELS.register_module()
class ConvNeXt(BaseModule):
    """ConvNeXt backbone: ``(N, 3, H, W)`` -> the stages in ``out_indices`` (strides 4, 8, 16, 32),
    each through its own LayerNorm (``norm{i}``).

    Args:
        arch: ``'tiny'``, ``'small'``, ``'base'``, ``'large'``, ``'xlarge'`` or ``dict(depths,
            channels)``.
        stem_patch_size: kernel and stride of the stem conv.
        norm_cfg: ``dict(type='LN2d', eps=...)`` (the only norm of this architecture).
        act_cfg: ``dict(type='GELU')``.
        linear_pw_conv: the pointwise convs as ``nn.Linear`` on NHWC rows (True) or 1x1 convs.
        use_grn: global response normalisation in each block (ConvNeXt V2).
        drop_path_rate: stochastic depth, rising linearly to this over the blocks.
        layer_scale_init_value: initial layer scale ``gamma`` (0: none).
        out_indices: stages to output (negative counts from the end; -1: the last).
        frozen_stages: freeze the first ``frozen_stages`` stages and their downsampling layers.
        gap_before_final_norm: output the global average of each map, normalised, ``(N, C)``
            (classification; MMDetection's detectors set it to False).
        with_cp: recompute each block's activations in the backward pass.
    """

    arch_settings = {
        "tiny": dict(depths=(3, 3, 9, 3), channels=(96, 192, 384, 768)),
        "small": dict(depths=(3, 3, 27, 3), channels=(96, 192, 384, 768)),
        "base": dict(depths=(3, 3, 27, 3), channels=(128, 256, 512, 1024)),
        "large": dict(depths=(3, 3, 27, 3), channels=(192, 384, 768, 1536)),
        "xlarge": dict(depths=(3, 3, 27, 3), channels=(256, 512, 1024, 2048)),
    }

    def __init__(
        self,
        arch: str | dict = "tiny",
        in_channels: int = 3,
        stem_patch_size: int = 4,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        linear_pw_conv: bool = True,
        use_grn: bool = False,
        drop_path_rate: float = 0.0,
        layer_scale_init_value: float = 1e-6,
        out_indices: int | Sequence[int] = -1,
        frozen_stages: int = 0,
        gap_before_final_norm: bool = True,
        with_cp: bool = False,
        init_cfg: dict | list | None = None,
    ) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type="TruncNormal", layer=["Conv2d", "Linear"], std=0.02, bias=0.0),
                dict(type="Constant", layer=["LayerNorm"], val=1.0, bias=0.0),
            ]
        super().__init__(init_cfg)
        depths, channels = self._arch(arch)
        eps = self._check_layers(norm_cfg, act_cfg)
        indices = [out_indices] if isinstance(out_indices, int) else list(out_indices)
        self.out_indices = tuple(i % len(depths) for i in indices)
        self.frozen_stages, self.gap_before_final_norm, self.channels = frozen_stages, gap_before_final_norm, channels
        stem = nn.Conv2d(in_channels, channels[0], stem_patch_size, stride=stem_patch_size)
        downsample = [nn.Sequential(stem, LayerNorm2d(channels[0], eps=eps))]
        for i in range(1, len(depths)):
            conv = nn.Conv2d(channels[i - 1], channels[i], 2, stride=2)
            downsample.append(nn.Sequential(LayerNorm2d(channels[i - 1], eps=eps), conv))
        self.downsample_layers = nn.ModuleList(downsample)
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        block = dict(layer_scale_init_value=layer_scale_init_value, linear_pw_conv=linear_pw_conv, use_grn=use_grn)
        block |= dict(eps=eps, with_cp=with_cp)
        self.stages = nn.ModuleList(
            nn.Sequential(*(ConvNeXtBlock(channels[i], rates[sum(depths[:i]) + j], **block) for j in range(depth)))
            for i, depth in enumerate(depths)
        )
        for i in self.out_indices:
            self.add_module(f"norm{i}", LayerNorm2d(channels[i], eps=eps))
        self._freeze_stages()

    def _arch(self, arch: str | dict) -> tuple[list[int], list[int]]:
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise KeyError(f"ConvNeXt: unknown arch {arch!r}; choose from {sorted(self.arch_settings)} or a dict")
            arch = self.arch_settings[arch]
        if not {"depths", "channels"} <= set(arch) or len(arch["depths"]) != len(arch["channels"]):
            raise ValueError(f"ConvNeXt: arch needs 'depths' and 'channels' of equal length, got {arch}")
        return list(arch["depths"]), list(arch["channels"])

    @staticmethod
    def _check_layers(norm_cfg: dict | None, act_cfg: dict | None) -> float:
        norm_cfg = dict(norm_cfg or dict(type="LN2d", eps=1e-6))
        if norm_cfg.pop("type") != "LN2d" or set(norm_cfg) - {"eps"}:
            raise ValueError(f"ConvNeXt: norm_cfg must be dict(type='LN2d', eps=...), got {norm_cfg}")
        if act_cfg is not None and act_cfg != dict(type="GELU"):
            raise ValueError(f"ConvNeXt: act_cfg must be dict(type='GELU'), got {act_cfg}")
        return float(norm_cfg.get("eps", 1e-6))

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages):
            for module in (self.downsample_layers[i], self.stages[i]):
                module.eval()
                for param in module.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True) -> "ConvNeXt":
        super().train(mode)
        self._freeze_stages()
        return self

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        outs = []
        for i, (down, stage) in enumerate(zip(self.downsample_layers, self.stages)):
            x = stage(down(x))
            if i in self.out_indices:
                norm = getattr(self, f"norm{i}")
                outs.append(norm(x.mean((-2, -1), keepdim=True)).flatten(1) if self.gap_before_final_norm else norm(x))
        return tuple(outs)


if importlib.util.find_spec("mmpretrain") is None:  # answer to mmpretrain.ConvNeXt (module docstring)
    MMPRETRAIN_MODELS = Registry("model", parent=MMENGINE_MODELS, scope="mmpretrain", locations=[__name__])
    MMPRETRAIN_MODELS.register_module(name="ConvNeXt", module=ConvNeXt)
