"""LossDivergenceHook on hand-made loss sequences: when it warns, what it says, and stopping."""

import math
from types import SimpleNamespace

import pytest
from mmengine.logging import MessageHub

from mmcascade.engine import LossDivergenceHook, TrainingDivergedError


class FakeRunner:
    def __init__(self):
        self.iter, self.epoch = 0, 0
        self.message_hub = MessageHub.get_instance("divergence_test")
        self.warnings = []
        self.logger = SimpleNamespace(warning=self.warnings.append)
        self.optim_wrapper = SimpleNamespace(get_lr=lambda: {"lr": [0.02]})


def feed(hook, runner, losses):
    for i, loss in enumerate(losses):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs={"loss": loss})


def test_warns_once_when_the_loss_grows_orders_of_magnitude():
    runner, hook = FakeRunner(), LossDivergenceHook(factor=1e3, baseline_iters=3)
    feed(hook, runner, [2.0, 1.5, 1.0, 1.2, 900.0, 3000.0])  # 3000 > 1000 x median(2, 1.5, 1)
    assert len(runner.warnings) == 1
    message = runner.warnings[0]
    assert "loss grew to 3e+03 from a median of 1.5 over the first 3 iterations at iteration 6" in message
    assert "learning rate (lr=0.02)" in message


def test_non_finite_loss_and_stop():
    runner, hook = FakeRunner(), LossDivergenceHook(baseline_iters=2, stop=True)
    feed(hook, runner, [1.0, 1.0, 2.0])
    with pytest.raises(TrainingDivergedError, match="loss is not finite .* at iteration 4"):
        feed(hook, runner, [1.0, 1.0, 2.0, math.nan])


def test_a_noisy_but_healthy_run_is_left_alone():
    runner, hook = FakeRunner(), LossDivergenceHook()
    feed(hook, runner, [3.0, 2.5, 2.8, 2.0, 2.2, 1.9, 1.7, 1.8, 1.5, 1.6] + [50.0, 1.2])
    assert runner.warnings == []


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="factor=1.0 must be above 1"):
        LossDivergenceHook(factor=1.0)
