"""Stochastic depth for residual branches (Swin, ConvNeXt)."""

from mmcv.cnn.bricks.drop import DropPath
from torch import nn


def drop_path(rate: float) -> nn.Module:
    """mmcv's ``DropPath(rate)``, as MMDetection's and mmpretrain's blocks use (in training each
    sample's branch is dropped with probability ``rate``, the kept ones scaled by ``1 / (1 - rate)``),
    or an identity when ``rate`` is 0."""
    return DropPath(rate) if rate > 0 else nn.Identity()
