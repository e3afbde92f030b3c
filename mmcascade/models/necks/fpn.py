"""Feature Pyramid Network with an extra max-pooled level."""

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.utils.options import check_extra_options


@MODELS.register_module()
class FPN(BaseModule):
    """Top-down pathway with lateral 1x1 and output 3x3 convs (``lateral_convs``, ``fpn_convs``).

    Args:
        in_channels: channels of the backbone outputs, finest first.
        out_channels: channels of every output level.
        num_outs: number of outputs; levels beyond the inputs are max-pooled (stride 2)
            from the coarsest output, as in Faster R-CNN with FPN (P6).
        start_level: first backbone level used.
        norm_cfg: optional norm in the convs (None in the published models).
    """

    def __init__(
        self,
        in_channels: list[int],
        out_channels: int,
        num_outs: int,
        start_level: int = 0,
        norm_cfg: dict | None = None,
        upsample_mode: str = "nearest",
        init_cfg: dict | None = None,
        **kwargs,
    ) -> None:
        check_extra_options(
            type(self).__name__,
            kwargs,
            dict(
                end_level=-1,
                add_extra_convs=False,
                relu_before_extra_convs=False,
                no_norm_on_lateral=False,
                conv_cfg=None,
                act_cfg=None,
                upsample_cfg=dict(mode="nearest"),
            ),
        )
        super().__init__(init_cfg or dict(type="Xavier", layer="Conv2d", distribution="uniform"))
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.start_level = start_level
        self.upsample_mode = upsample_mode
        if num_outs < len(self.in_channels) - start_level:
            raise ValueError("num_outs must cover all used input levels")
        self.lateral_convs = self._convs(1, norm_cfg)
        self.fpn_convs = self._convs(3, norm_cfg, lateral=False)

    def _convs(self, kernel: int, norm_cfg: dict | None, lateral: bool = True):
        convs = nn.ModuleList()
        for c in self.in_channels[self.start_level :]:
            cin = c if lateral else self.out_channels
            convs.append(
                ConvModule(
                    cin, self.out_channels, kernel, padding=kernel // 2, norm_cfg=norm_cfg, act_cfg=None, inplace=False
                )
            )
        return convs

    def forward(self, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """``inputs``: backbone maps finest first; returns ``num_outs`` maps of ``out_channels``."""
        if len(inputs) != len(self.in_channels):
            raise ValueError(f"FPN expects {len(self.in_channels)} inputs, got {len(inputs)}")
        laterals = [conv(inputs[i + self.start_level]) for i, conv in enumerate(self.lateral_convs)]
        for i in range(len(laterals) - 1, 0, -1):
            up = F.interpolate(laterals[i], size=laterals[i - 1].shape[2:], mode=self.upsample_mode)
            laterals[i - 1] = laterals[i - 1] + up
        outs = [conv(lat) for conv, lat in zip(self.fpn_convs, laterals)]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
