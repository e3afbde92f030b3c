"""Balanced Feature Pyramid (Libra R-CNN): every level gathered to one middle level, averaged,
optionally refined (a 3x3 conv or a non-local block), and added back to every level."""

import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.cnn.bricks import NonLocal2d
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.utils.typing_utils import OptConfigType, OptMultiConfig

REFINE_TYPES = (None, "conv", "non_local")


@MODELS.register_module()
class BFP(BaseModule):
    """Balanced Feature Pyramid, placed after the FPN (``neck=[dict(type='FPN', ...),
    dict(type='BFP', ...)]``).

    Args:
        in_channels: channels of every level (the FPN's ``out_channels``).
        num_levels: the FPN's outputs.
        refine_level: the level the others are resized to (finer ones max-pooled, coarser ones
            upsampled, nearest) before averaging; the average goes back the other way.
        refine_type: None, ``'conv'`` (3x3 ConvModule) or ``'non_local'`` (an embedded-Gaussian
            non-local block without scaling, mmcv's ``NonLocal2d``).
        conv_cfg, norm_cfg: of the refinement.
    """

    def __init__(
        self,
        in_channels: int,
        num_levels: int,
        refine_level: int = 2,
        refine_type: str | None = None,
        conv_cfg: OptConfigType = None,
        norm_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg or dict(type="Xavier", layer="Conv2d", distribution="uniform"))
        if refine_type not in REFINE_TYPES:
            raise ValueError(f"BFP: refine_type must be one of {REFINE_TYPES}, got {refine_type!r}")
        if not 0 <= refine_level < num_levels:
            raise ValueError(f"BFP: refine_level {refine_level} is not one of the {num_levels} levels")
        self.in_channels, self.num_levels = in_channels, num_levels
        self.refine_level, self.refine_type = refine_level, refine_type
        if refine_type == "conv":
            self.refine = ConvModule(in_channels, in_channels, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        elif refine_type == "non_local":
            self.refine = NonLocal2d(in_channels, reduction=1, use_scale=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg)

    def forward(self, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """``num_levels`` maps ``(B, C, H_i, W_i)`` -> the same shapes, each plus the balanced map."""
        if len(inputs) != self.num_levels:
            raise ValueError(f"BFP expects {self.num_levels} levels, got {len(inputs)}")
        size = inputs[self.refine_level].shape[2:]
        gathered = [
            F.adaptive_max_pool2d(x, output_size=size)
            if i < self.refine_level
            else F.interpolate(x, size=size, mode="nearest")
            for i, x in enumerate(inputs)
        ]
        balanced = sum(gathered) / len(gathered)
        if self.refine_type is not None:
            balanced = self.refine(balanced)
        return tuple(
            x
            + (
                F.interpolate(balanced, size=x.shape[2:], mode="nearest")
                if i < self.refine_level
                else F.adaptive_max_pool2d(balanced, output_size=x.shape[2:])
            )
            for i, x in enumerate(inputs)
        )
