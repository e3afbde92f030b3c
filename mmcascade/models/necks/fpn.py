"""Feature Pyramid Network (MMDetection's ``FPN``): top-down pathway, lateral and output convs,
and extra coarser levels by max pooling or by stride-2 convs."""

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.utils.options import check_extra_options

EXTRA_SOURCES = ("on_input", "on_lateral", "on_output")


@MODELS.register_module()
class FPN(BaseModule):
    """Top-down pathway with lateral 1x1 and output 3x3 convs (``lateral_convs``, ``fpn_convs``).

    Args:
        in_channels: channels of the backbone outputs, finest first.
        out_channels: channels of every output level.
        num_outs: number of outputs. Levels beyond the used inputs are max-pooled (kernel 1,
            stride 2) from the coarsest output, as in Faster R-CNN with FPN (P6), or, with
            ``add_extra_convs``, made by 3x3 stride-2 convs appended to ``fpn_convs``.
        start_level, end_level: the first and last backbone level used (``-1``: the last); with
            an ``end_level`` before the last, ``num_outs`` must be exactly the levels used.
        add_extra_convs: ``False``; ``'on_input'`` (``True``), ``'on_lateral'`` or
            ``'on_output'``: what the first extra conv reads (the last used backbone map, its
            lateral, or its output); each further one reads the previous extra level.
        relu_before_extra_convs: a ReLU before every extra conv but the first.
        norm_cfg: optional norm in the convs (None in the published models).
        conv_cfg: the convs' type (e.g. ``dict(type='ConvWS')``, the GN+WS rows).
        no_norm_on_lateral: no norm in the 1x1 lateral convs.
        act_cfg: activation after each conv (none by default).
        upsample_cfg: ``F.interpolate`` arguments of the top-down pathway (``mode``; with
            ``scale_factor`` the coarser map is scaled by it instead of to the finer map's size).
    """

    def __init__(
        self,
        in_channels: list[int],
        out_channels: int,
        num_outs: int,
        start_level: int = 0,
        end_level: int = -1,
        add_extra_convs: bool | str = False,
        relu_before_extra_convs: bool = False,
        norm_cfg: dict | None = None,
        conv_cfg: dict | None = None,
        no_norm_on_lateral: bool = False,
        act_cfg: dict | None = None,
        upsample_cfg: dict | None = None,
        init_cfg: dict | None = None,
        **kwargs,
    ) -> None:
        check_extra_options(type(self).__name__, kwargs, {})
        super().__init__(init_cfg or dict(type="Xavier", layer="Conv2d", distribution="uniform"))
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.start_level = start_level
        num_ins = len(self.in_channels)
        if end_level in (-1, num_ins - 1):
            self.backbone_end_level = num_ins
            if num_outs < num_ins - start_level:
                raise ValueError(f"FPN: num_outs={num_outs} must cover the {num_ins - start_level} used input levels")
        else:
            self.backbone_end_level = end_level + 1
            if not start_level <= end_level < num_ins or num_outs != end_level - start_level + 1:
                raise ValueError(
                    f"FPN: end_level={end_level} with start_level={start_level} and {num_ins} inputs needs "
                    f"num_outs={end_level - start_level + 1}, got {num_outs}"
                )
        if add_extra_convs is True:
            add_extra_convs = "on_input"
        if add_extra_convs not in (False, *EXTRA_SOURCES):
            raise ValueError(f"FPN: add_extra_convs must be a bool or one of {EXTRA_SOURCES}, got {add_extra_convs!r}")
        self.add_extra_convs = add_extra_convs
        self.relu_before_extra_convs = relu_before_extra_convs
        self.upsample_cfg = dict(upsample_cfg or dict(mode="nearest"))
        layer = dict(conv_cfg=conv_cfg, act_cfg=act_cfg, inplace=False)
        lateral_norm = None if no_norm_on_lateral else norm_cfg
        used = self.in_channels[start_level : self.backbone_end_level]
        self.lateral_convs = nn.ModuleList(ConvModule(c, out_channels, 1, norm_cfg=lateral_norm, **layer) for c in used)
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, **layer) for _ in used
        )
        if add_extra_convs:
            for i in range(num_outs - len(used)):
                cin = (
                    self.in_channels[self.backbone_end_level - 1]
                    if i == 0 and add_extra_convs == "on_input"
                    else out_channels
                )
                self.fpn_convs.append(ConvModule(cin, out_channels, 3, stride=2, padding=1, norm_cfg=norm_cfg, **layer))

    def forward(self, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """``inputs``: backbone maps finest first; returns ``num_outs`` maps of ``out_channels``."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(f"{type(self).__name__} expects {len(self.in_channels)} inputs, got {len(inputs)}")
        laterals = self._top_down(inputs)
        outs = self._level_outputs(laterals)
        return tuple(self._extra_levels(inputs, laterals, outs))

    def _top_down(self, inputs: tuple[Tensor, ...]) -> list[Tensor]:
        """The lateral 1x1 convs, each level plus the upsampled coarser one."""
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            if "scale_factor" in self.upsample_cfg:
                up = F.interpolate(laterals[i], **self.upsample_cfg)
            else:
                up = F.interpolate(laterals[i], size=laterals[i - 1].shape[2:], **self.upsample_cfg)
            laterals[i - 1] = laterals[i - 1] + up
        return laterals

    def _level_outputs(self, laterals: list[Tensor]) -> list[Tensor]:
        """One output per used input level: the 3x3 ``fpn_convs``."""
        return [self.fpn_convs[i](laterals[i]) for i in range(len(laterals))]

    def _extra_levels(self, inputs: tuple[Tensor, ...], laterals: list[Tensor], outs: list[Tensor]) -> list[Tensor]:
        """Levels above the inputs: stride-2 max pooling, or the extra convs of ``add_extra_convs``."""
        used = len(laterals)
        if not self.add_extra_convs:
            while len(outs) < self.num_outs:
                outs.append(F.max_pool2d(outs[-1], 1, stride=2))
            return outs
        if self.num_outs > used:
            source = {
                "on_input": inputs[self.backbone_end_level - 1],
                "on_lateral": laterals[-1],
                "on_output": outs[-1],
            }[self.add_extra_convs]
            outs.append(self.fpn_convs[used](source))
            for i in range(used + 1, self.num_outs):
                outs.append(self.fpn_convs[i](F.relu(outs[-1]) if self.relu_before_extra_convs else outs[-1]))
        return outs
