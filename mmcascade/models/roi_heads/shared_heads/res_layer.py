"""The C4 shared head: one ResNet stage run on pooled RoI features (Faster / Mask R-CNN C4,
the Detectron baselines): ``res5`` on ``14 x 14`` RoIAlign output gives ``(K, 2048, 7, 7)``."""

from typing import Any

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.utils.typing_utils import OptConfigType, OptMultiConfig

from ...backbones import ResNet
from ...backbones.resnet_blocks import downsample_shortcut
from ...layers import batchnorms_to_eval


@MODELS.register_module()
class ResLayer(BaseModule):
    """ResNet stage ``stage`` (0-based; 3 is ``res5``) as a module ``layer{stage + 1}``
    (MMDetection's checkpoint keys ``roi_head.shared_head.layer4.*``).

    Args:
        depth: the ResNet depth whose stage this is (block type and number of blocks).
        stage: 0-based stage index; its input has ``64 * 2**(stage - 1) * expansion`` channels.
        stride, dilation: of the stage's first block (every block's dilation).
        style: ``'pytorch'`` (stride on the 3x3 conv) or ``'caffe'`` (on the first 1x1).
        norm_cfg: the blocks' norm; ``norm_eval`` keeps BatchNorm in eval mode while training.
        with_cp: recompute the blocks' activations in the backward pass.
        dcn: deformable conv config of the blocks' 3x3 convs.
        pretrained: MMDetection's deprecated spelling of ``init_cfg=dict(type='Pretrained', ...)``.
    """

    def __init__(
        self,
        depth: int,
        stage: int = 3,
        stride: int = 2,
        dilation: int = 1,
        style: str = "pytorch",
        norm_cfg: OptConfigType = None,
        norm_eval: bool = True,
        with_cp: bool = False,
        dcn: OptConfigType = None,
        pretrained: str | None = None,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        if pretrained is not None:
            if init_cfg is not None:
                raise ValueError("ResLayer: give init_cfg or pretrained, not both")
            init_cfg = dict(type="Pretrained", checkpoint=pretrained)
        super().__init__(
            init_cfg
            or [dict(type="Kaiming", layer="Conv2d"), dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"])]
        )
        if depth not in ResNet.arch_settings:
            raise KeyError(f"ResLayer: invalid depth {depth}; choose from {sorted(ResNet.arch_settings)}")
        if not 1 <= stage <= 3:
            raise ValueError(f"ResLayer: stage must be 1 to 3 (a stage after the stem's), got {stage}")
        norm_cfg = dict(norm_cfg or dict(type="BN", requires_grad=True))
        self.stage, self.norm_eval = stage, norm_eval
        block, stage_blocks = ResNet.arch_settings[depth]
        planes = 64 * 2**stage
        inplanes = 64 * 2 ** (stage - 1) * block.expansion
        outplanes = planes * block.expansion
        downsample = None
        if stride != 1 or inplanes != outplanes:
            downsample = downsample_shortcut(inplanes, outplanes, stride, None, norm_cfg)
        common: dict[str, Any] = dict(style=style, norm_cfg=norm_cfg, with_cp=with_cp, dilation=dilation, dcn=dcn)
        blocks = [block(inplanes, planes, stride, downsample, **common)]
        blocks += [block(outplanes, planes, **common) for _ in range(1, stage_blocks[stage])]
        self.add_module(f"layer{stage + 1}", nn.Sequential(*blocks))

    def forward(self, x: Tensor) -> Tensor:
        """``(K, C_in, s, s)`` pooled RoI features -> ``(K, C_out, s / stride, s / stride)``."""
        return getattr(self, f"layer{self.stage + 1}")(x)

    def train(self, mode: bool = True) -> "ResLayer":
        super().train(mode)
        if mode and self.norm_eval:
            batchnorms_to_eval(self)
        return self
