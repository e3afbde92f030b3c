"""Upgrade MMDetection v1.x checkpoints (``bbox_head.*`` at the top level, background class
first) to the v2.0 layout our models use (``roi_head.bbox_head.*``, background last)."""

from collections.abc import Mapping

import torch

_MOVED = ("bbox_head.", "mask_head.", "bbox_roi_extractor.", "mask_roi_extractor.")


def is_v1_layout(state: Mapping[str, torch.Tensor]) -> bool:
    """True when the RoI heads sit at the top level, as in MMDetection v1.x."""
    return any(k.startswith(_MOVED) for k in state)


def background_last(key: str, value: torch.Tensor) -> torch.Tensor:
    """Rows of a background-first head (MMDetection v1, Detectron) in our order: the classifier's
    background row moves to the end; the background's 4 box outputs (class-specific regression)
    and its mask logits are dropped. Other keys are returned unchanged."""
    if key.endswith(("fc_cls.weight", "fc_cls.bias")):
        return torch.cat([value[1:], value[:1]], dim=0)
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
        out[new_key] = background_last(new_key, value) if key.startswith(_MOVED) else value
    return out
