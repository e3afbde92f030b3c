"""Notice a training run that diverges: a loss (or gradient norm) that grows by orders of
magnitude over its first values, or stops being finite, is named with its iteration and the
likely cause; with ``stop=True`` the run ends there (exit status non-zero) instead of finishing
"successfully" with useless weights."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Any

from mmengine.hooks import Hook

from mmcascade.registry import HOOKS


class TrainingDivergedError(RuntimeError):
    """Raised by :class:`LossDivergenceHook` with ``stop=True``."""


def _as_float(value: Any) -> float | None:
    try:
        return float(value.item() if hasattr(value, "item") else value)
    except (TypeError, ValueError):
        return None


@HOOKS.register_module()
class LossDivergenceHook(Hook):
    """Watch the total loss (and ``grad_norm`` when gradient clipping logs it).

    Args:
        factor: a value above ``factor`` times its baseline (the median of the first
            ``baseline_iters`` finite values) counts as diverged; a non-finite one always does.
        baseline_iters: iterations the baseline is taken over.
        stop: end the run at the first divergence (:class:`TrainingDivergedError`), else warn once
            per quantity.
    """

    priority = "LOW"

    def __init__(self, factor: float = 1e3, baseline_iters: int = 10, stop: bool = False) -> None:
        if factor <= 1:
            raise ValueError(f"LossDivergenceHook factor={factor} must be above 1")
        if baseline_iters < 1:
            raise ValueError(f"LossDivergenceHook baseline_iters={baseline_iters} must be at least 1")
        self.factor = float(factor)
        self.baseline_iters = int(baseline_iters)
        self.stop = bool(stop)
        self._first: dict[str, list[float]] = {"loss": [], "grad_norm": []}
        self._warned: set[str] = set()

    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        values = {"loss": _as_float(outputs.get("loss")) if isinstance(outputs, Mapping) else None}
        hub = runner.message_hub
        if "train/grad_norm" in hub.log_scalars:
            values["grad_norm"] = _as_float(hub.get_scalar("train/grad_norm").current())
        for name, value in values.items():
            if value is not None:
                self._check(runner, name, value)

    def _check(self, runner, name: str, value: float) -> None:
        first = self._first[name]
        if math.isfinite(value) and len(first) < self.baseline_iters:
            first.append(abs(value))
            return
        baseline = statistics.median(first) if first else None
        if math.isfinite(value) and (baseline is None or abs(value) <= self.factor * max(baseline, 1e-12)):
            return
        message = self.describe(runner, name, value, baseline)
        if self.stop:
            raise TrainingDivergedError(message)
        if name not in self._warned:
            self._warned.add(name)
            runner.logger.warning(message)

    def describe(self, runner, name: str, value: float, baseline: float | None) -> str:
        """The warning: the quantity, the iteration, how far it grew, and the likely cause."""
        try:
            lrs = runner.optim_wrapper.get_lr()
            lr = ", ".join(f"{k}={v[0]:.3g}" for k, v in lrs.items())
        except Exception:  # an optimizer wrapper without get_lr
            lr = "unknown"
        grown = "is not finite" if not math.isfinite(value) else f"grew to {value:.3g}"
        since = (
            f" from a median of {baseline:.3g} over the first {len(self._first[name])} iterations" if baseline else ""
        )
        return (
            f"training diverges: {name} {grown}{since} at iteration {runner.iter + 1} (epoch "
            f"{runner.epoch + 1}). Likely cause: the learning rate ({lr}) is too high for this "
            "model and batch size; lower optim_wrapper.optimizer.lr, use auto_scale_lr for another "
            "batch size, or clip gradients (optim_wrapper.clip_grad). "
            + ("" if self.stop else "LossDivergenceHook(stop=True) ends such a run here.")
        )
