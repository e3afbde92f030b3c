"""Weights that two implementations with the same checkpoint layout can share: every float entry of
the state dict drawn in sorted-key order from one seeded generator (convs and linears scaled by
1 / sqrt(fan-in), norm weights near 1, biases and means near 0, variances in [0.5, 1.5])."""

import torch
from torch import nn


def seeded_state(module: nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Load the seeded weights into ``module`` and return them."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in sorted(module.state_dict().items()):
        if not value.is_floating_point():
            state[key] = value
        elif "running_var" in key:
            state[key] = torch.rand(value.shape, generator=g) + 0.5
        elif value.dim() >= 2:
            state[key] = torch.randn(value.shape, generator=g) / max(1, value[0].numel()) ** 0.5
        elif key.endswith("weight"):
            state[key] = 1 + 0.1 * torch.randn(value.shape, generator=g)
        else:
            state[key] = 0.1 * torch.randn(value.shape, generator=g)
    module.load_state_dict(state)
    return state


def calibrate_norms(model: nn.Module) -> None:
    """BatchNorm statistics measured on one seeded random batch ``(2, 3, 512, 768)`` through
    ``model.extract_feat``, for random-weight backbones whose seeded statistics leave the heads
    nothing to detect (HRNet: its fused branches grow without trained norms). Deterministic, so
    two toolboxes with the same weights get the same statistics."""
    x = torch.randn(2, 3, 512, 768, generator=torch.Generator().manual_seed(2))
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative: the statistics of this one pass
        norm.train()
    with torch.no_grad():
        model.extract_feat(x)
    for norm in norms:
        norm.momentum = 0.1
        norm.eval()
