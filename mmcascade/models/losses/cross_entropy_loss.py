"""Softmax, sigmoid and per-class mask cross-entropy."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmcascade.registry import MODELS

from .utils import check_reduction, weight_reduce_loss


def softmax_cross_entropy(
    pred: Tensor,
    label: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | None = None,
    class_weight: Tensor | None = None,
) -> Tensor:
    """``pred (N, C+1)`` logits, ``label (N,)`` int64 in ``[0, C]``."""
    loss = F.cross_entropy(pred, label, weight=class_weight, reduction="none")
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def sigmoid_cross_entropy(
    pred: Tensor,
    label: Tensor,
    weight: Tensor | None = None,
    reduction: str = "mean",
    avg_factor: float | None = None,
    class_weight: Tensor | None = None,
) -> Tensor:
    """``pred (N, C)`` logits; ``label (N,)`` int64 where ``C`` means background (all-zero target)."""
    num_classes = pred.shape[-1]
    if pred.dim() != label.dim():
        valid = (label >= 0) & (label < num_classes)
        target = pred.new_zeros(pred.shape)
        rows = torch.nonzero(valid, as_tuple=False).squeeze(1)
        target[rows, label[rows]] = 1
        if weight is not None:
            weight = weight.float().view(-1, 1).expand(-1, num_classes)
    else:
        target = label.float()
        if weight is not None:
            weight = weight.float()
    loss = F.binary_cross_entropy_with_logits(pred, target, pos_weight=class_weight, reduction="none")
    return weight_reduce_loss(loss, weight, reduction, avg_factor)


def mask_cross_entropy(
    pred: Tensor,
    target: Tensor,
    label: Tensor,
    reduction: str = "mean",
    avg_factor: float | None = None,
    class_weight: Tensor | None = None,
) -> Tensor:
    """Binary CE on the channel of each RoI's class: ``pred (N, C, h, w)``, ``target (N, h, w)``."""
    if reduction != "mean" or avg_factor is not None:
        raise ValueError("mask cross-entropy supports only reduction='mean' without avg_factor")
    rows = torch.arange(pred.shape[0], device=pred.device)
    pred_slice = pred[rows, label]
    return F.binary_cross_entropy_with_logits(pred_slice, target, weight=class_weight, reduction="mean")[None]


@MODELS.register_module()
class CrossEntropyLoss(nn.Module):
    """Cross-entropy for classification (softmax or sigmoid) and for masks.

    Args:
        use_sigmoid: per-class sigmoid (RPN objectness) instead of softmax.
        use_mask: mask loss: binary CE on the channel of each RoI's class.
        reduction: ``'none'``, ``'mean'`` or ``'sum'``.
        class_weight: optional per-class weights.
        loss_weight: multiplier of the result.
    """

    def __init__(
        self,
        use_sigmoid: bool = False,
        use_mask: bool = False,
        reduction: str = "mean",
        class_weight: list[float] | None = None,
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if use_sigmoid and use_mask:
            raise ValueError("use_sigmoid and use_mask are exclusive")
        self.use_sigmoid = use_sigmoid
        self.use_mask = use_mask
        self.reduction = check_reduction(reduction)
        self.class_weight = class_weight
        self.loss_weight = loss_weight

    def forward(
        self,
        cls_score: Tensor,
        label: Tensor,
        weight: Tensor | None = None,
        avg_factor: float | None = None,
        reduction_override: str | None = None,
    ) -> Tensor:
        reduction = check_reduction(reduction_override or self.reduction)
        class_weight = cls_score.new_tensor(self.class_weight) if self.class_weight is not None else None
        if self.use_mask:
            # ``weight`` carries the RoIs' class labels for the mask loss.
            loss = mask_cross_entropy(cls_score, label, weight, reduction, avg_factor, class_weight)
        elif self.use_sigmoid:
            loss = sigmoid_cross_entropy(cls_score, label, weight, reduction, avg_factor, class_weight)
        else:
            loss = softmax_cross_entropy(cls_score, label, weight, reduction, avg_factor, class_weight)
        return self.loss_weight * loss
