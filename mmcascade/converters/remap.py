"""Reorder a detector checkpoint's classes: the classifier rows (background stays last), the
class-specific box regression and mask logits follow the new order. Everything else is copied."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor


def class_permutation(old: Sequence[str], new: Sequence[str]) -> list[int]:
    """For each class of ``new``, its index in ``old``.

    Raises:
        ValueError: the two are not the same classes (names missing on either side are listed).
    """
    if sorted(old) != sorted(new) or len(set(old)) != len(old):
        missing, extra = sorted(set(new) - set(old)), sorted(set(old) - set(new))
        raise ValueError(
            f"the classes differ, not only their order: in the config only {missing}, in the checkpoint only "
            f"{extra}" + ("; the checkpoint names a class twice" if len(set(old)) != len(old) else "")
        )
    return [list(old).index(name) for name in new]


def remap_state(state: Mapping[str, Tensor], perm: Sequence[int]) -> dict[str, Tensor]:
    """``state`` with every class-indexed tensor reordered by ``perm`` (new index -> old index):
    ``*fc_cls.*`` (``C + 1`` rows, background last), ``*fc_reg.*`` with ``4 C`` rows (class-specific
    boxes) and ``*conv_logits.*`` with ``C`` rows (class-specific masks)."""
    c = len(perm)
    index = torch.as_tensor(list(perm), dtype=torch.long)
    out = {}
    for key, value in state.items():
        rows = value.shape[0] if value.dim() else 0
        if ".fc_cls." in key and rows == c + 1:
            value = value[torch.cat([index, torch.tensor([c])])]
        elif ".fc_reg." in key and rows == 4 * c:
            value = value.reshape(c, 4, *value.shape[1:])[index].reshape(value.shape)
        elif ".conv_logits." in key and rows == c:
            value = value[index]
        out[key] = value  # the moved rows are new tensors; the rest is shared, not copied
    return out
