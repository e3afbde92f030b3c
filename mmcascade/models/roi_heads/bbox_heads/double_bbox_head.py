"""Double-Head box head (Wu et al., "Rethinking Classification and Localization for Object
Detection", CVPR 2020): FCs classify, convolutions regress."""

from typing import Any

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.utils.typing_utils import OptConfigType, OptMultiConfig

from ...backbones.resnet_blocks import Bottleneck
from .convfc_bbox_head import ConvFCBBoxHead


class BasicResBlock(BaseModule):
    """3x3 conv + norm + ReLU, 1x1 conv + norm, added to a 1x1 conv + norm of the input, then ReLU:
    widens the RoI features (``in_channels`` -> ``out_channels``) for the conv branch."""

    def __init__(self, in_channels: int, out_channels: int, conv_cfg: OptConfigType, norm_cfg: OptConfigType) -> None:
        super().__init__()
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, bias=False)
        self.conv1 = ConvModule(in_channels, in_channels, 3, padding=1, **common)
        self.conv2 = ConvModule(in_channels, out_channels, 1, act_cfg=None, **common)
        self.conv_identity = ConvModule(in_channels, out_channels, 1, act_cfg=None, **common)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.conv2(self.conv1(x)) + self.conv_identity(x))


@MODELS.register_module()
class DoubleConvFCBBoxHead(ConvFCBBoxHead):
    """``res_block`` and ``num_convs`` bottlenecks (``conv_branch``), average pooling and ``fc_reg``
    on the regression features; ``num_fcs`` FCs (``fc_branch``) and ``fc_cls`` on the
    classification features (MMDetection's module names).

    Args:
        num_convs, conv_out_channels: the conv branch (bottlenecks of ``conv_out_channels``).
        num_fcs, fc_out_channels: the FC branch.
        conv_cfg, norm_cfg: the conv branch's convolutions and norm (BN by default).
        **kwargs: the box head's own (``in_channels``, ``roi_feat_size``, ``num_classes``,
            ``bbox_coder``, losses...); ``with_avg_pool`` must stay True.

    ``forward(x_cls, x_reg)`` takes the two branches' RoI features, both ``(K, in_channels, s, s)``.
    """

    def __init__(
        self,
        num_convs: int = 0,
        num_fcs: int = 0,
        conv_out_channels: int = 1024,
        fc_out_channels: int = 1024,
        conv_cfg: OptConfigType = None,
        norm_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = None,
        **kwargs: Any,
    ) -> None:
        if not kwargs.pop("with_avg_pool", True):
            raise ValueError("DoubleConvFCBBoxHead pools its conv branch (with_avg_pool=True)")
        in_channels, size = kwargs.get("in_channels", 256), kwargs.get("roi_feat_size", 7)
        super().__init__(
            init_cfg=init_cfg
            or [
                dict(type="Normal", std=0.01, override=dict(name="fc_cls")),
                dict(type="Normal", std=0.001, override=dict(name="fc_reg")),
                dict(type="Xavier", distribution="uniform", override=dict(name="fc_branch")),
            ],
            **kwargs,
        )
        norm_cfg = norm_cfg or dict(type="BN")
        self.with_avg_pool = True
        self.avg_pool = nn.AvgPool2d(size)
        del self.shared_fcs
        self.res_block = BasicResBlock(in_channels, conv_out_channels, conv_cfg, norm_cfg)
        self.conv_branch = nn.ModuleList(
            Bottleneck(conv_out_channels, conv_out_channels // 4, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
            for _ in range(num_convs)
        )
        dims = [in_channels * size * size] + [fc_out_channels] * num_fcs
        self.fc_branch = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.fc_cls = nn.Linear(dims[-1], self.num_classes + 1)
        self.fc_reg = nn.Linear(conv_out_channels, 4 if self.reg_class_agnostic else 4 * self.num_classes)

    def forward(self, x_cls: Tensor, x_reg: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Logits ``(K, C + 1)`` from ``x_cls``, deltas ``(K, 4)`` or ``(K, 4C)`` from ``x_reg``
        (``x_cls`` when not given), float32."""
        x_conv = self.res_block(x_cls if x_reg is None else x_reg)
        for block in self.conv_branch:
            x_conv = block(x_conv)
        x_conv = self.avg_pool(x_conv) if x_conv.numel() > 0 else x_conv.mean(dim=(-2, -1))
        bbox_pred = self.fc_reg(x_conv.flatten(1))
        x_fc = x_cls.flatten(1)
        for fc in self.fc_branch:
            x_fc = F.relu(fc(x_fc))
        return self.fc_cls(x_fc).float(), bbox_pred.float()
