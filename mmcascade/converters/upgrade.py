"""Upgrade MMDetection v1.x checkpoints (``bbox_head.*`` at the top level, background class
first) to the v2.0 layout our models use (``roi_head.bbox_head.*``, background last)."""
from collections.abc import Mapping

import torch

_MOVED = ("bbox_head.", "mask_head.", "bbox_roi_extractor.", "mask_roi_extractor.")


def is_v1_layout(state: Mapping[str, torch.Tensor]) -> bool:
    """True when the RoI heads sit at the top level, as in MMDetection v1.x."""
    return any(k.startswith(_MOVED) for k in state)


def _background_last(t: torch.Tensor, per_class: int) -> torch.Tensor:
    return torch.cat([t[per_class:], t[:per_class]], dim=0)


def _upgrade_value(key: str, value: torch.Tensor) -> torch.Tensor:
    if key.endswith(("fc_cls.weight", "fc_cls.bias")):
        return _background_last(value, 1)
    if key.endswith(("fc_reg.weight", "fc_reg.bias")) and value.shape[0] > 4:
        return value[4:]  # class-specific: v1 also regressed the background class
    if key.endswith(("conv_logits.weight", "conv_logits.bias")) and value.shape[0] > 1:
        return value[1:]
    return value


def upgrade_v1_state(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A new v2.0-layout state_dict; ``state`` is left untouched. Already-v2 input is returned
    as a copy unchanged."""
    if not is_v1_layout(state):
        return dict(state)
    out = {}
    for key, value in state.items():
        new_key = "roi_head." + key if key.startswith(_MOVED) else key
        out[new_key] = _upgrade_value(new_key, value) if key.startswith(_MOVED) else value
    return out
