"""Top-1 classification accuracy in percent, for logging."""

import torch
from torch import Tensor


@torch.no_grad()
def accuracy(pred: Tensor, target: Tensor) -> Tensor:
    """``pred (N, C)`` logits, ``target (N,)``: share of argmax hits, in percent (0 when N = 0)."""
    if pred.shape[0] == 0:
        return pred.new_tensor(0.0)
    return (pred.argmax(dim=1) == target).float().mean() * 100.0
