"""HRFPN (HRNetV2p's neck): HRNet's four outputs brought to the highest resolution and
concatenated, a 1x1 conv to ``out_channels``, then pooled into a pyramid and each level through a
3x3 conv. MMDetection's names, arguments and checkpoint keys (``reduction_conv``, ``fpn_convs``)."""

import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmcascade.registry import MODELS


@MODELS.register_module()
class HRFPN(BaseModule):
    """``forward``: HRNet's maps ``(N, C_i, H / 2**i, W / 2**i)`` -> ``num_outs`` maps of
    ``out_channels`` at strides ``s * 2**k`` (``s`` the first input's stride times ``stride``).

    Args:
        in_channels: channels of each input (HRNet's branches).
        out_channels: channels of every output.
        num_outs: pyramid levels (5).
        pooling_type: ``'AVG'`` or ``'MAX'``, how level ``k`` is pooled (kernel and stride ``2**k``).
        conv_cfg: the convolutions' type.
        norm_cfg: must stay None: MMDetection's HRFPN accepts it and builds no norm.
        with_cp: recompute the reduction conv in the backward pass.
        stride: stride of the 3x3 output convs.
    """

    def __init__(
        self,
        in_channels: list[int],
        out_channels: int,
        num_outs: int = 5,
        pooling_type: str = "AVG",
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        with_cp: bool = False,
        stride: int = 1,
        init_cfg: dict | list | None = None,
    ) -> None:
        super().__init__(init_cfg if init_cfg is not None else dict(type="Caffe2Xavier", layer="Conv2d"))
        if norm_cfg is not None:
            raise ValueError(
                f"HRFPN: norm_cfg={norm_cfg} is not used by this neck (MMDetection accepts and ignores it); remove it"
            )
        if pooling_type not in ("AVG", "MAX"):
            raise ValueError(f"HRFPN: pooling_type must be 'AVG' or 'MAX', got {pooling_type!r}")
        self.in_channels, self.out_channels = list(in_channels), out_channels
        self.num_ins, self.num_outs, self.with_cp = len(in_channels), num_outs, with_cp
        self.pooling = F.avg_pool2d if pooling_type == "AVG" else F.max_pool2d
        self.reduction_conv = ConvModule(sum(in_channels), out_channels, 1, conv_cfg=conv_cfg, act_cfg=None)
        self.fpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, stride=stride, conv_cfg=conv_cfg, act_cfg=None)
            for _ in range(num_outs)
        )

    def forward(self, inputs: tuple[Tensor, ...] | list[Tensor]) -> tuple[Tensor, ...]:
        if len(inputs) != self.num_ins:
            raise ValueError(f"HRFPN: {len(inputs)} inputs, expected {self.num_ins} (in_channels)")
        ups = [inputs[0]] + [F.interpolate(x, scale_factor=2**i, mode="bilinear") for i, x in enumerate(inputs) if i]
        merged = torch.cat(ups, dim=1)
        if self.with_cp and merged.requires_grad:
            out = cp.checkpoint(self.reduction_conv, merged, use_reentrant=False)
        else:
            out = self.reduction_conv(merged)
        levels = [out] + [self.pooling(out, kernel_size=2**i, stride=2**i) for i in range(1, self.num_outs)]
        return tuple(conv(level) for conv, level in zip(self.fpn_convs, levels))
