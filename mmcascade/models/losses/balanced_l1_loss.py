"""Balanced L1 loss (Libra R-CNN, Pang et al., CVPR 2019): more gradient from the inliers
(``|d| < beta``) than smooth L1 gives them, so that easy boxes are not drowned by outliers."""

import math

import torch
from torch import Tensor

from mmcascade.registry import MODELS

from .smooth_l1_loss import RegressionLoss


def balanced_l1(pred: Tensor, target: Tensor, alpha: float = 0.5, gamma: float = 1.5, beta: float = 1.0) -> Tensor:
    """Element-wise balanced L1 of ``d = |pred - target|``: with ``b = e^(gamma / alpha) - 1``,
    ``alpha / b * (b d + 1) * ln(b d / beta + 1) - alpha d`` below ``beta``, ``gamma d + gamma / b
    - alpha beta`` above (continuous at ``beta``, gradient ``gamma`` there)."""
    if beta <= 0:
        raise ValueError(f"beta must be positive, got {beta}")
    if target.numel() == 0:
        return pred.sum() * 0
    diff = torch.abs(pred - target)
    b = math.e ** (gamma / alpha) - 1
    inlier = alpha / b * (b * diff + 1) * torch.log(b * diff / beta + 1) - alpha * diff
    return torch.where(diff < beta, inlier, gamma * diff + gamma / b - alpha * beta)


@MODELS.register_module()
class BalancedL1Loss(RegressionLoss):
    """Balanced L1 box regression loss (:func:`balanced_l1`), weighted and reduced."""

    def __init__(
        self,
        alpha: float = 0.5,
        gamma: float = 1.5,
        beta: float = 1.0,
        reduction: str = "mean",
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__(reduction, loss_weight)
        self.alpha, self.gamma, self.beta = alpha, gamma, beta

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return balanced_l1(pred, target, self.alpha, self.gamma, self.beta)
