"""tools/dist_train.sh and dist_test.sh with 2 CPU processes (gloo) on the embedded data."""

import glob
import os
import pickle
import subprocess
import sys

from helpers import REPO
from helpers.e2e import free_port, tiny_embedded_cfg


def run(cmd: list[str]) -> str:
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS="1", PYTHON=sys.executable)
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def test_two_process_training_shares_one_model(tmp_path):
    cfg = tiny_embedded_cfg(tmp_path, custom_hooks=[dict(type="WeightDigestHook")])
    work = tmp_path / "work"
    log = run(["bash", "tools/dist_train.sh", cfg, "2", "--work-dir", str(work)])
    digests = sorted(glob.glob(str(work / "weights_rank*.sha256")))
    assert len(digests) == 2, log[-2000:]
    a, b = (open(p).read() for p in digests)
    assert a == b
    assert sorted(os.path.basename(p) for p in glob.glob(str(work / "*.pth"))) == ["epoch_1.pth"]
    assert "Distributed training: True" in log and "GPU number: 2" in log  # mmengine's words for 2 ranks
    out = tmp_path / "preds.pkl"
    log = run(
        ["bash", "tools/dist_test.sh", cfg, str(work / "epoch_1.pth"), "2", "--work-dir", str(work), "--out", str(out)]
    )
    assert "coco/bbox_mAP" in log
    with open(out, "rb") as f:
        preds = pickle.load(f)
    assert sorted(p["img_id"] for p in preds) == [1, 2, 3, 4]  # the whole val set, merged from both ranks


def _children(pid: int) -> list[int]:
    kids = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        with open(task) as f:
            kids += [int(x) for x in f.read().split()]
    return kids


def _rank_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
    except OSError:
        return None
    return int(env[b"RANK"]) if b"RANK" in env else None


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except OSError:
        return False


def _start_long_run(tmp_path, *extra: str):
    import time

    cfg = tiny_embedded_cfg(tmp_path, epochs=200, spec=dict(num_train=4, num_val=2, seed=3))
    log = open(tmp_path / "run.log", "w")
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS="1", PYTHON=sys.executable)
    proc = subprocess.Popen(
        ["bash", "tools/dist_train.sh", cfg, "2", "--work-dir", str(tmp_path / "work"), *extra],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 300
    while time.time() < deadline and "Epoch(train)" not in (tmp_path / "run.log").read_text():
        time.sleep(0.2)
    workers = {_rank_of(p): p for p in _children(proc.pid)}
    assert set(workers) == {0, 1}, (tmp_path / "run.log").read_text()[-3000:]
    return proc, workers


def test_a_stopped_rank_ends_the_job_within_the_timeout(tmp_path):
    import signal
    import time

    proc, workers = _start_long_run(tmp_path, "--cfg-options", "env_cfg.dist_cfg.timeout=10")
    try:
        os.kill(workers[1], signal.SIGSTOP)
        start = time.time()
        proc.wait(timeout=240)
        waited = time.time() - start
    finally:
        for pid in workers.values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    log = (tmp_path / "run.log").read_text()
    assert proc.returncode != 0 and waited < 180
    assert "rank 0 of 2: a collective operation timed out" in log, log[-3000:]


def test_killing_the_launcher_leaves_no_workers(tmp_path):
    import signal
    import time

    proc, workers = _start_long_run(tmp_path)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    deadline = time.time() + 60
    while time.time() < deadline and any(_alive(p) for p in workers.values()):
        time.sleep(0.2)
    assert not [p for p in workers.values() if _alive(p)]
