"""Smooth-L1 and L1 box regression losses."""

import torch
import torch.nn as nn
from torch import Tensor

from mmcascade.registry import MODELS

from .utils import check_reduction, weight_reduce_loss


def smooth_l1(pred: Tensor, target: Tensor, beta: float = 1.0) -> Tensor:
    """Element-wise ``0.5 d^2 / beta`` for ``|d| < beta``, else ``|d| - 0.5 beta``."""
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    if target.numel() == 0:
        return pred.sum() * 0
    diff = torch.abs(pred - target)
    return torch.where(diff < beta, 0.5 * diff * diff / beta, diff - 0.5 * beta)


class RegressionLoss(nn.Module):
    """Base of the box regression losses: an element-wise loss, weighted and reduced."""

    def __init__(self, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction)
        self.loss_weight = loss_weight

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        avg_factor: float | None = None,
        reduction_override: str | None = None,
    ) -> Tensor:
        """``pred``, ``target`` and ``weight`` of one shape, e.g. ``(N, 4)``."""
        reduction = check_reduction(reduction_override or self.reduction)
        if weight is not None and not torch.any(weight > 0) and reduction != "none":
            if pred.dim() == weight.dim() + 1:
                weight = weight.unsqueeze(1)
            return (pred * weight).sum()  # 0, and still in the graph
        loss = self.elementwise(pred, target)
        return self.loss_weight * weight_reduce_loss(loss, self.loss_weights(weight, pred), reduction, avg_factor)

    def loss_weights(self, weight: Tensor | None, pred: Tensor) -> Tensor | None:
        """The weights that multiply :meth:`elementwise`'s output (by default ``weight`` itself)."""
        return weight


@MODELS.register_module()
class SmoothL1Loss(RegressionLoss):
    """Smooth-L1 (Huber) loss with transition point ``beta``."""

    def __init__(self, beta: float = 1.0, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.beta = beta

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return smooth_l1(pred, target, self.beta)


@MODELS.register_module()
class L1Loss(RegressionLoss):
    """Absolute difference."""

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        if target.numel() == 0:
            return pred.sum() * 0
        return torch.abs(pred - target)
