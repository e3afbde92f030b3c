"""Refuse config options a component does not implement, instead of dropping them."""

import difflib
from collections.abc import Mapping, Sequence
from typing import Any


def check_extra_options(owner: str, extra: Mapping[str, Any], fixed: Mapping[str, Any] | None = None) -> None:
    """Accept MMDetection options that we implement only at one value; refuse everything else.

    MMDetection configs often spell out options at their default value (``with_avg_pool=False``,
    ``upsample_cfg=dict(type='deconv', scale_factor=2)``); those are accepted when they equal the
    behaviour implemented here. Any other value, or a name not known at all (a typo such as
    ``fc_out_channel``), is an error instead of a silently different model.

    Args:
        owner: the component's ``type`` name, for the message.
        extra: the keyword arguments the constructor did not take by name.
        fixed: ``{option: the only value implemented}``.

    Raises:
        TypeError: an unknown option.
        ValueError: a known option at a value that is not implemented.
    """
    fixed = fixed or {}
    for name, value in extra.items():
        if name not in fixed:
            known = sorted(fixed)
            hint = f"; options accepted at their default value only: {known}" if known else ""
            raise TypeError(f"{owner} got an unknown option {name!r}{hint}")
        if value != fixed[name]:
            raise ValueError(f"{owner}: {name}={value!r} is not implemented; only {fixed[name]!r} is")


def check_block_keys(
    owner: str, block: Mapping[str, Any] | None, known: Sequence[str], fixed: Mapping[str, Any] | None = None
) -> None:
    """A plain settings block (``train_cfg.rpn``, ``test_cfg.rcnn``...) holds only the keys its
    reader uses (``known``) and options implemented at one value (``fixed``).

    Raises:
        TypeError: an unknown key, with the nearest known one.
        ValueError: a fixed option at another value.
    """
    if not block:
        return
    fixed = fixed or {}
    for name, value in block.items():
        if name in known:
            continue
        if name in fixed:
            if value != fixed[name]:
                raise ValueError(f"{owner}: {name}={value!r} is not implemented; only {fixed[name]!r} is")
            continue
        close = difflib.get_close_matches(name, [*known, *fixed], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {sorted([*known, *fixed])}"
        raise TypeError(f"{owner} got an unknown key {name!r}{hint}")
