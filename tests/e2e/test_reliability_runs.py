"""Runs that never lose work: atomic checkpoints under SIGKILL at every point of a save,
resuming past an unreadable checkpoint, one run per work dir, misspelt hook options refused."""

import os
import signal
import subprocess
import sys
import time

import torch

from mmcascade.engine.checkpoint_hook import KILL_ENV, KILL_POINTS

from helpers import REPO
from helpers.e2e import tiny_embedded_cfg

SPEC = dict(num_train=4, num_val=2, seed=5)


def _readable(path: str) -> bool:
    try:
        torch.load(path, weights_only=True)
        return True
    except Exception:  # noqa: BLE001 (any failure to read counts)
        return False


# Each run resumes the work dir the previous one left and is killed at the next point; the
# checkpoint it must find complete afterwards (max_keep_ckpts=1).
KILLS = [
    ("tmp_half_written", 2, "epoch_1.pth"),
    ("tmp_written", 2, "epoch_1.pth"),
    ("renamed", 2, "epoch_2.pth"),
    ("last_updated", 3, "epoch_3.pth"),
    ("old_deleted", 4, "epoch_4.pth"),
]


def test_sigkill_at_every_point_of_a_save_leaves_a_resumable_run(tmp_path):
    assert {k for k, _, _ in KILLS} == set(KILL_POINTS)
    cfg = tiny_embedded_cfg(tmp_path, epochs=5, spec=SPEC)
    work = str(tmp_path / "work")
    cmd = [
        sys.executable,
        "tools/train.py",
        cfg,
        "--work-dir",
        work,
        "--cfg-options",
        "default_hooks.checkpoint.max_keep_ckpts=1",
    ]
    for i, (point, step, newest) in enumerate(KILLS):
        run = cmd[:5] + ["--resume"] * (i > 0) + cmd[5:]
        killed = subprocess.run(
            run,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=600,
            env=dict(os.environ, **{KILL_ENV: f"{point}@{step}"}),
        )
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-2000:])
        with open(os.path.join(work, "last_checkpoint")) as f:
            named = f.read().strip()
        assert os.path.isfile(named) and _readable(named), point  # never a missing or truncated file
        complete = sorted(
            (p for p in os.listdir(work) if p.endswith(".pth") and _readable(os.path.join(work, p))),
            key=lambda p: int(p[6:-4]),
        )
        assert complete[-1] == newest, (point, complete)
        if i > 0:
            assert f"Load checkpoint from {os.path.join(work, KILLS[i - 1][2])}" in killed.stdout, point
    final = subprocess.run(cmd[:5] + ["--resume"] + cmd[5:], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr[-3000:]
    assert f"Load checkpoint from {os.path.join(work, KILLS[-1][2])}" in final.stdout
    assert _readable(os.path.join(work, "epoch_5.pth")) and "coco/bbox_mAP" in final.stdout
    assert not [p for p in os.listdir(work) if p.endswith(".tmp")]


def test_resume_skips_an_unreadable_newest_checkpoint(tmp_path):
    cfg = tiny_embedded_cfg(tmp_path, epochs=2, spec=SPEC)
    work = str(tmp_path / "work")
    subprocess.run(
        [sys.executable, "tools/train.py", cfg, "--work-dir", work],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=600,
    )
    newest = os.path.join(work, "epoch_2.pth")
    os.truncate(newest, os.path.getsize(newest) // 3)  # e.g. a disk that filled up
    proc = subprocess.run(
        [
            sys.executable,
            "tools/train.py",
            cfg,
            "--work-dir",
            work,
            "--resume",
            "--cfg-options",
            "train_cfg.max_epochs=3",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "skipping" in proc.stderr and "epoch_2.pth" in proc.stderr
    assert "resumed epoch: 1" in proc.stdout + proc.stderr
    assert os.path.getsize(newest) > 0 and _readable(os.path.join(work, "epoch_3.pth"))


def test_a_second_run_in_the_same_work_dir_is_refused_until_the_first_ends(tmp_path):
    cfg = tiny_embedded_cfg(tmp_path, epochs=50, spec=SPEC)
    work = str(tmp_path / "work")
    first = subprocess.Popen(
        [sys.executable, "tools/train.py", cfg, "--work-dir", work],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 120
        lock = os.path.join(work, ".lock")
        while time.time() < deadline and not (os.path.exists(lock) and os.path.getsize(lock)):
            time.sleep(0.1)
        second = subprocess.run(
            [sys.executable, "tools/train.py", cfg, "--work-dir", work],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0
        assert f"is in use by training pid {first.pid} on host" in second.stderr
        assert not [d for d in os.listdir(work) if d[:1].isdigit() and d != _first_run_dir(work)]
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    # killed: the lock went with the process, the work dir can be reused at once
    again = subprocess.run(
        [sys.executable, "tools/train.py", cfg, "--work-dir", work, "--cfg-options", "train_cfg.max_epochs=1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr[-3000:]


def _first_run_dir(work: str) -> str:
    runs = sorted(d for d in os.listdir(work) if d[:1].isdigit())
    return runs[0] if runs else ""


def test_misspelt_checkpoint_option_fails_before_training(tmp_path):
    cfg = tiny_embedded_cfg(tmp_path, spec=SPEC)
    proc = subprocess.run(
        [
            sys.executable,
            "tools/train.py",
            cfg,
            "--work-dir",
            str(tmp_path / "w"),
            "--cfg-options",
            "default_hooks.checkpoint.max_keep_ckpt=1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "'max_keep_ckpt' (did you mean 'max_keep_ckpts'?)" in proc.stderr
    assert "Epoch(train)" not in proc.stdout + proc.stderr
