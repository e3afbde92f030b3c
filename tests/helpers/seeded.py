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
