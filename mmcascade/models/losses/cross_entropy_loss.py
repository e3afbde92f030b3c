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
    ignore_index: int | None = None,
    avg_non_ignore: bool = False,
) -> Tensor:
    """``pred (N, C+1)`` logits, ``label (N,)`` int64 in ``[0, C]``; labels equal to
    ``ignore_index`` (-100 when None) add nothing, and with ``avg_non_ignore`` the mean is over the
    others only."""
    ignore_index = -100 if ignore_index is None else ignore_index
    loss = F.cross_entropy(pred, label, weight=class_weight, reduction="none", ignore_index=ignore_index)
    if avg_factor is None and avg_non_ignore and reduction == "mean":
        avg_factor = label.numel() - (label == ignore_index).sum().item()
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
    ignore_index: int | None = None,
    avg_non_ignore: bool = False,
) -> Tensor:
    """``pred (N, C)`` logits; ``label (N,)`` int64 where ``C`` means background (all-zero target).
    Negative labels and ``ignore_index`` add nothing; with ``avg_non_ignore`` the mean is over
    the other entries only."""
    num_classes = pred.shape[-1]
    ignore_index = -100 if ignore_index is None else ignore_index
    counted = (label >= 0) & (label != ignore_index)
    if pred.dim() != label.dim():
        target = pred.new_zeros(pred.shape)
        rows = torch.nonzero(counted & (label < num_classes), as_tuple=False).squeeze(1)
        target[rows, label[rows]] = 1
        valid = counted.float().view(-1, 1).expand(-1, num_classes)
        weight = valid if weight is None else weight.float().view(-1, 1).expand(-1, num_classes) * valid
    else:
        target = label.float()
        valid = counted.float()
        weight = valid if weight is None else weight.float() * valid
    if avg_factor is None and avg_non_ignore and reduction == "mean":
        avg_factor = valid.sum().item()
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
        ignore_index: a label that adds nothing to the loss (softmax and sigmoid).
        avg_non_ignore: average over the entries not ignored only (MMDetection's option).
        loss_weight: multiplier of the result.
    """

    def __init__(
        self,
        use_sigmoid: bool = False,
        use_mask: bool = False,
        reduction: str = "mean",
        class_weight: list[float] | None = None,
        ignore_index: int | None = None,
        loss_weight: float = 1.0,
        avg_non_ignore: bool = False,
    ) -> None:
        super().__init__()
        if use_sigmoid and use_mask:
            raise ValueError("use_sigmoid and use_mask are exclusive")
        if use_mask and ignore_index is not None:
            raise ValueError("CrossEntropyLoss: ignore_index is not supported with use_mask (as in MMDetection)")
        self.ignore_index = ignore_index
        self.avg_non_ignore = avg_non_ignore
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
        ignore_index: int | None = None,
    ) -> Tensor:
        reduction = check_reduction(reduction_override or self.reduction)
        ignore_index = self.ignore_index if ignore_index is None else ignore_index
        class_weight = cls_score.new_tensor(self.class_weight) if self.class_weight is not None else None
        if self.use_mask:
            # ``weight`` carries the RoIs' class labels for the mask loss.
            loss = mask_cross_entropy(cls_score, label, weight, reduction, avg_factor, class_weight)
        elif self.use_sigmoid:
            loss = sigmoid_cross_entropy(
                cls_score, label, weight, reduction, avg_factor, class_weight, ignore_index, self.avg_non_ignore
            )
        else:
            loss = softmax_cross_entropy(
                cls_score, label, weight, reduction, avg_factor, class_weight, ignore_index, self.avg_non_ignore
            )
        return self.loss_weight * loss
