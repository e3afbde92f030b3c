"""Refuse config options a component does not implement, instead of dropping them."""
from collections.abc import Mapping
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
