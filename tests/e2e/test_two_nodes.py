"""Two nodes on one machine: two ``tools/dist_train.sh CONFIG 1`` launchers with ``NNODES=2``,
``NODE_RANK=0|1`` and ``MASTER_ADDR=127.0.0.1``, started separately, as on a two-node cluster.
They train one model (the same weights as a 2-rank single-node run), only rank 0 writes; when one
node dies the other ends at once naming the lost rank, and ``--resume`` on both finishes the run
with the weights of an uninterrupted one."""

import glob
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO
from helpers.e2e import free_port, resumable_tiny_cfg

SEEDED = ("--cfg-options", "randomness.seed=0", "randomness.deterministic=True", "env_cfg.dist_cfg.timeout=60")


def launcher(cfg: str, work, log, nnodes: int, node_rank: int, nprocs: int, port: int, *extra: str) -> subprocess.Popen:
    env = dict(
        os.environ,
        NNODES=str(nnodes),
        NODE_RANK=str(node_rank),
        MASTER_ADDR="127.0.0.1",
        PORT=str(port),
        OMP_NUM_THREADS="1",
        PYTHON=sys.executable,
    )
    cmd = ["bash", "tools/dist_train.sh", cfg, str(nprocs), "--work-dir", str(work), *SEEDED, *extra]
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def two_nodes(cfg: str, work, tmp_path, tag: str, *extra: str) -> tuple[subprocess.Popen, subprocess.Popen]:
    port = free_port()
    node1 = launcher(cfg, work, tmp_path / f"{tag}_node1.log", 2, 1, 1, port, *extra)
    node0 = launcher(cfg, work, tmp_path / f"{tag}_node0.log", 2, 0, 1, port, *extra)
    return node0, node1


def digests(work) -> list[str]:
    return [open(p).read().strip() for p in sorted(glob.glob(str(work / "weights_rank*.sha256")))]


def process_tree(pid: int) -> list[int]:
    out = [pid]
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            kids = [int(x) for x in open(task).read().split()]
        except OSError:
            continue
        for kid in kids:
            out += process_tree(kid)
    return out


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("two_nodes")
    cfg = resumable_tiny_cfg(tmp, num_val=2)
    work = tmp / "single_node"
    proc = launcher(cfg, work, tmp / "single_node.log", 1, 0, 2, free_port())
    assert proc.wait(timeout=600) == 0, (tmp / "single_node.log").read_text()[-3000:]
    return dict(cfg=cfg, reference=digests(work), tmp=tmp)


def test_two_launchers_train_one_model_like_a_single_node(setup, tmp_path):
    work = tmp_path / "work"
    node0, node1 = two_nodes(setup["cfg"], work, tmp_path, "full")
    assert node0.wait(timeout=600) == 0, (tmp_path / "full_node0.log").read_text()[-3000:]
    assert node1.wait(timeout=120) == 0, (tmp_path / "full_node1.log").read_text()[-3000:]
    assert len(setup["reference"]) == 2 and len(set(setup["reference"])) == 1
    assert digests(work) == setup["reference"]  # both ranks, equal to the 2-rank single-node run
    # only rank 0 (node 0) writes checkpoints (the config keeps the last two) and the log
    assert sorted(os.path.basename(p) for p in glob.glob(str(work / "*.pth"))) == ["epoch_2.pth", "epoch_3.pth"]
    assert len(glob.glob(str(work / "*" / "*.log"))) == 1
    node0_log, node1_log = ((tmp_path / f"full_node{i}.log").read_text() for i in (0, 1))
    assert "Epoch(train) [3]" in node0_log and "Epoch(train)" not in node1_log


def test_a_lost_node_ends_the_other_and_resume_finishes_the_run(setup, tmp_path):
    work = tmp_path / "work"
    node0, node1 = two_nodes(setup["cfg"], work, tmp_path, "killed")
    log0 = tmp_path / "killed_node0.log"
    deadline = time.time() + 600
    mid_epoch_2 = re.compile(r"Epoch\(train\)\s+\[2\]\[\s*1/")
    while time.time() < deadline and node0.poll() is None and not mid_epoch_2.search(log0.read_text()):
        time.sleep(0.05)
    assert (work / "epoch_1.pth").is_file() and not (work / "epoch_2.pth").exists(), log0.read_text()[-2000:]
    started = time.time()
    for pid in process_tree(node1.pid):  # the whole node: its launcher and its worker
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    node0.wait(timeout=180)
    waited = time.time() - started
    node1.wait(timeout=30)
    out = log0.read_text()
    assert node0.returncode != 0 and waited < 60, out[-3000:]
    assert "rank 0 (node 0, host" in out and "the connection to rank 1 (node 1, host" in out, out[-3000:]
    assert "start the job again with --resume (on every node" in out
    assert not (work / "epoch_3.pth").exists()
    # a fresh allocation: both nodes again with --resume, to the uninterrupted run's weights
    node0, node1 = two_nodes(setup["cfg"], work, tmp_path, "resumed", "--resume")
    assert node0.wait(timeout=600) == 0, (tmp_path / "resumed_node0.log").read_text()[-3000:]
    assert node1.wait(timeout=120) == 0, (tmp_path / "resumed_node1.log").read_text()[-3000:]
    resumed = (tmp_path / "resumed_node0.log").read_text()
    assert "resumed epoch: 1," in resumed and "Epoch(train) [1]" not in resumed
    assert digests(work) == setup["reference"]
