"""Sigmoid focal loss (Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017)."""

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmcascade.registry import MODELS

from .utils import check_reduction, weight_reduce_loss


def sigmoid_focal_loss(pred: Tensor, target: Tensor, gamma: float = 2.0, alpha: float = 0.25) -> Tensor:
    """Element-wise focal loss of logits ``pred (N, C)`` against 0/1 ``target (N, C)``:
    ``BCE * (alpha t + (1 - alpha)(1 - t)) * pt^gamma`` with ``pt`` the probability of the wrong answer."""
    prob = pred.sigmoid()
    target = target.type_as(pred)
    pt = (1 - prob) * target + prob * (1 - target)
    weight = (alpha * target + (1 - alpha) * (1 - target)) * pt.pow(gamma)
    return F.binary_cross_entropy_with_logits(pred, target, reduction="none") * weight


@MODELS.register_module()
class FocalLoss(nn.Module):
    """Focal loss on sigmoid scores.

    Args:
        use_sigmoid: must be True (the softmax form is not implemented).
        gamma, alpha: the focusing and balancing parameters (2, 0.25).
        reduction, loss_weight: as the other losses.
        activated: ``pred`` are probabilities already; not implemented (False).

    ``forward(pred (N, C) logits, target, weight, avg_factor)``: ``target`` is ``(N,)`` class
    indices (``C``: background) or one-hot ``(N, C)``; ``weight`` ``(N,)`` or ``(N, C)``.
    """

    def __init__(
        self,
        use_sigmoid: bool = True,
        gamma: float = 2.0,
        alpha: float = 0.25,
        reduction: str = "mean",
        loss_weight: float = 1.0,
        activated: bool = False,
    ) -> None:
        super().__init__()
        if not use_sigmoid or activated:
            raise ValueError(
                "FocalLoss: only the sigmoid form on logits is implemented (use_sigmoid=True, activated=False)"
            )
        self.gamma, self.alpha = gamma, alpha
        self.reduction = check_reduction(reduction)
        self.loss_weight = loss_weight

    def forward(
        self,
        pred: Tensor,
        target: Tensor,
        weight: Tensor | None = None,
        avg_factor: float | None = None,
        reduction_override: str | None = None,
    ) -> Tensor:
        reduction = check_reduction(reduction_override or self.reduction)
        if pred.dim() != target.dim():  # class indices; the background index gives an all-zero row
            target = F.one_hot(target, num_classes=pred.shape[1] + 1)[:, : pred.shape[1]]
        loss = sigmoid_focal_loss(pred, target, self.gamma, self.alpha)
        if weight is not None and weight.dim() == 1 and loss.dim() == 2:
            weight = weight.view(-1, 1)
        return self.loss_weight * weight_reduce_loss(loss, weight, reduction, avg_factor)
