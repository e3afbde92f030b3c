"""``norm_eval``: BatchNorm layers kept in eval mode (frozen statistics) while training."""

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def batchnorms_to_eval(module: nn.Module) -> None:
    """Put every BatchNorm layer of ``module`` in eval mode (its running statistics are used and
    not updated); the rest keeps its mode."""
    for child in module.modules():
        if isinstance(child, _BatchNorm):
            child.eval()
