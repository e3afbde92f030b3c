"""Kill training mid-epoch with SIGKILL, resume with --resume: same final weights as an
uninterrupted run on the same seed (deterministic mode, single process, no dataloader workers)."""

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from helpers import REPO
from helpers.e2e import tiny_embedded_cfg


def train_cmd(cfg: str, work: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "tools/train.py",
        cfg,
        "--work-dir",
        work,
        "--cfg-options",
        "randomness.seed=0",
        "randomness.deterministic=True",
        *extra,
    ]


def final_state(work) -> dict:
    return torch.load(os.path.join(work, "epoch_3.pth"), map_location="cpu", weights_only=True)["state_dict"]


@pytest.mark.timeout(900)
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    cfg = tiny_embedded_cfg(
        tmp_path,
        epochs=3,
        spec=dict(num_train=16, num_val=2, seed=5),
        custom_hooks=[dict(type="EpochReseedHook"), dict(type="WeightDigestHook")],
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    full = str(tmp_path / "full")
    subprocess.run(train_cmd(cfg, full), cwd=REPO, env=env, check=True, capture_output=True, timeout=600)

    killed = str(tmp_path / "killed")
    log = tmp_path / "killed.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(train_cmd(cfg, killed), cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.time() + 600
        while not os.path.exists(os.path.join(killed, "epoch_1.pth")) and time.time() < deadline:
            time.sleep(0.05)
        mid_epoch_2 = re.compile(r"Epoch\(train\)\s+\[2\]\[\s*2/")
        while not mid_epoch_2.search(log.read_text()) and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not os.path.exists(os.path.join(killed, "epoch_2.pth")), "the kill came too late to be mid-epoch"
    subprocess.run(train_cmd(cfg, killed, "--resume"), cwd=REPO, env=env, check=True, capture_output=True, timeout=600)
    a, b = final_state(full), final_state(killed)
    assert a.keys() == b.keys()
    worst = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    assert worst == 0.0, f"largest weight difference after resuming: {worst}"
