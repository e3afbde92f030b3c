"""tools/slurm_train.sh and slurm_test.sh with 2 tasks on a real one-node Slurm cluster.

CI starts the cluster (scripts/slurm/cluster.sh start) before the tests; where no cluster
answers, the test is skipped and says why.
"""

import glob
import os
import pickle
import shutil
import subprocess
import sys

import pytest

from helpers import REPO
from helpers.e2e import free_port, tiny_embedded_cfg


def cluster_state() -> str | None:
    """None when a Slurm node is idle, else the reason the test cannot run."""
    if shutil.which("srun") is None or shutil.which("sinfo") is None:
        return "Slurm is not installed (run scripts/slurm/cluster.sh start as root)"
    try:
        states = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=20).stdout
    except (subprocess.TimeoutExpired, OSError) as exc:
        return f"sinfo failed: {exc}"
    return None if "idle" in states.split() else f"no idle Slurm node (sinfo: {states.strip() or 'no answer'})"


def slurm(script: str, *args: str) -> str:
    env = dict(
        os.environ,
        GPUS="2",
        GPUS_PER_NODE="0",
        CPUS_PER_TASK="1",
        MASTER_PORT=str(free_port()),
        OMP_NUM_THREADS="1",
        PYTHON=sys.executable,
    )
    proc = subprocess.run(
        ["timeout", "600", "bash", script, "ci", "mmcascade-test", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_slurm_train_and_test_with_two_tasks(tmp_path):
    reason = cluster_state()
    if reason is not None:
        pytest.skip(f"Slurm test not run: {reason}")
    cfg = tiny_embedded_cfg(tmp_path, custom_hooks=[dict(type="WeightDigestHook")])
    work = str(tmp_path / "work")
    log = slurm("tools/slurm_train.sh", cfg, work)
    assert "Distributed launcher: slurm" in log and "GPU number: 2" in log
    digests = [open(p).read() for p in sorted(glob.glob(os.path.join(work, "weights_rank*.sha256")))]
    assert len(digests) == 2 and digests[0] == digests[1]
    out = str(tmp_path / "preds.pkl")
    log = slurm("tools/slurm_test.sh", cfg, os.path.join(work, "epoch_1.pth"), "--work-dir", work, "--out", out)
    assert "coco/bbox_mAP" in log
    with open(out, "rb") as f:
        assert sorted(p["img_id"] for p in pickle.load(f)) == [1, 2, 3, 4]
