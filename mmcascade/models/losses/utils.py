"""Element-wise weighting and reduction shared by the losses."""

import torch
from torch import Tensor

_EPS = torch.finfo(torch.float32).eps


def weight_reduce_loss(
    loss: Tensor, weight: Tensor | None = None, reduction: str = "mean", avg_factor: float | None = None
) -> Tensor:
    """Weight an element-wise loss and reduce it.

    With ``avg_factor`` and ``reduction='mean'`` the sum is divided by ``avg_factor``
    (not by the element count), which is how detection losses are normalised by the
    number of sampled boxes.
    """
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        if reduction == "mean":
            return loss.mean()
        if reduction == "sum":
            return loss.sum()
        if reduction == "none":
            return loss
        raise ValueError(f"unknown reduction {reduction!r}")
    if reduction == "mean":
        return loss.sum() / (avg_factor + _EPS)
    if reduction == "none":
        return loss
    raise ValueError("avg_factor can only be used with reduction 'mean' or 'none'")


def check_reduction(reduction: str) -> str:
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    return reduction
