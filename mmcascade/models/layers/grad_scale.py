"""Identity in the forward pass, gradient multiplied by a constant in the backward pass."""

import torch
from torch import Tensor


class _GradScale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, scale: float) -> Tensor:
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        return grad * ctx.scale, None


def scale_grad(x: Tensor, scale: float) -> Tensor:
    """Return ``x``; the gradient flowing back through it is multiplied by ``scale``."""
    if scale == 1.0:
        return x
    return _GradScale.apply(x, scale)
