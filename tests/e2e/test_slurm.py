"""tools/slurm_train.sh and slurm_test.sh on a real two-node Slurm cluster (two slurmd on this
machine, node1 and node2), one task per node; a node lost mid-training and ``--resume`` in a new
allocation.

CI starts the cluster (scripts/slurm/cluster.sh start) before the tests; where no cluster
answers, the test is skipped and says why.
"""

import glob
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO
from helpers.e2e import free_port, resumable_tiny_cfg

SEEDED = ("--cfg-options", "randomness.seed=0", "randomness.deterministic=True", "env_cfg.dist_cfg.timeout=60")


def cluster_state() -> str | None:
    """None when two Slurm nodes are idle, else the reason the test cannot run."""
    if shutil.which("srun") is None or shutil.which("sinfo") is None:
        return "Slurm is not installed (run scripts/slurm/cluster.sh start as root)"
    try:
        states = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, timeout=20).stdout
    except (subprocess.TimeoutExpired, OSError) as exc:
        return f"sinfo failed: {exc}"
    idle = states.split().count("idle")
    return None if idle >= 2 else f"fewer than two idle Slurm nodes (sinfo: {states.strip() or 'no answer'})"


def slurm_env() -> dict:
    return dict(
        os.environ,
        GPUS="2",
        GPUS_PER_NODE="0",
        TASKS_PER_NODE="1",
        CPUS_PER_TASK="1",
        MASTER_PORT=str(free_port()),
        OMP_NUM_THREADS="1",
        PYTHON=sys.executable,
    )


def slurm(script: str, *args: str) -> str:
    proc = subprocess.run(
        ["timeout", "600", "bash", script, "ci", "mmcascade-test", *args],
        cwd=REPO,
        env=slurm_env(),
        capture_output=True,
        text=True,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def digests(work: str) -> list[str]:
    return [open(p).read() for p in sorted(glob.glob(os.path.join(work, "weights_rank*.sha256")))]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The seeded config trained for 3 epochs by slurm_train.sh across both nodes:
    ``dict(cfg, work, log, digests)``, the reference of the node-loss test."""
    reason = cluster_state()
    if reason is not None:
        pytest.skip(f"Slurm test not run: {reason}")
    tmp = tmp_path_factory.mktemp("slurm")
    cfg = resumable_tiny_cfg(tmp, num_val=4)
    work = str(tmp / "work")
    log = slurm("tools/slurm_train.sh", cfg, work, *SEEDED)
    return dict(cfg=cfg, work=work, log=log, digests=digests(work))


def test_slurm_train_and_test_on_two_nodes(uninterrupted, tmp_path):
    cfg, work, log, found = (uninterrupted[k] for k in ("cfg", "work", "log", "digests"))
    assert "Distributed launcher: slurm" in log and "GPU number: 2" in log
    assert len(found) == 2 and found[0] == found[1]
    out = str(tmp_path / "preds.pkl")
    log = slurm("tools/slurm_test.sh", cfg, os.path.join(work, "epoch_3.pth"), "--work-dir", work, "--out", out)
    assert "coco/bbox_mAP" in log
    with open(out, "rb") as f:
        assert sorted(p["img_id"] for p in pickle.load(f)) == [1, 2, 3, 4]
    # one task on each node: each rank names its node in its environment
    probe = subprocess.run(
        ["srun", "-p", "ci", "--nodes=2", "--ntasks-per-node=1", "bash", "-c", "echo $SLURM_PROCID $SLURMD_NODENAME"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sorted(probe.stdout.split("\n")[:2]) == ["0 node1", "1 node2"]


def _rank_pid(rank: int) -> int | None:
    for env_file in glob.glob("/proc/[0-9]*/environ"):
        try:
            env = open(env_file, "rb").read().split(b"\0")
            cmd = open(env_file.replace("environ", "cmdline"), "rb").read()
        except OSError:
            continue
        if f"SLURM_PROCID={rank}".encode() in env and b"train.py" in cmd and b"mmcascade-test" not in cmd:
            return int(env_file.split("/")[2])
    return None


def test_a_lost_node_ends_the_job_and_resume_finishes_it(uninterrupted, tmp_path):
    seeded_cfg, reference = uninterrupted["cfg"], uninterrupted["digests"]
    work = str(tmp_path / "work")
    log = tmp_path / "killed.log"
    cmd = ["timeout", "600", "bash", "tools/slurm_train.sh", "ci", "mmcascade-test", seeded_cfg, work, *SEEDED]
    proc = subprocess.Popen(cmd, cwd=REPO, env=slurm_env(), stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 300
    mid_epoch_2 = re.compile(r"Epoch\(train\)\s+\[2\]\[\s*1/")
    while time.time() < deadline and proc.poll() is None and not mid_epoch_2.search(log.read_text()):
        time.sleep(0.05)
    pid = _rank_pid(1)
    assert pid is not None and os.path.exists(os.path.join(work, "epoch_1.pth")), log.read_text()[-3000:]
    os.kill(pid, signal.SIGKILL)  # rank 1, the task on node2
    started = time.time()
    proc.wait(timeout=180)
    out = log.read_text()
    assert proc.returncode != 0 and time.time() - started < 60, out[-3000:]
    # srun (--kill-on-bad-exit) names the lost node and task and ends the others; when rank 0
    # notices first, it names the rank it lost as well
    assert "srun: error: node2: task 1: Killed" in out, out[-3000:]
    assert "the connection to rank 1 (node 1, host node2" in out or "node1: task 0: Terminated" in out
    assert not os.path.exists(os.path.join(work, "epoch_3.pth"))
    resumed = slurm("tools/slurm_train.sh", seeded_cfg, work, *SEEDED, "--resume")
    assert "resumed epoch: 1," in resumed
    assert digests(work) == reference
