"""tools/dist_train.sh and dist_test.sh with 2 CPU processes (gloo) on the embedded data."""
import glob
import os
import pickle
import subprocess

from conftest import REPO
from e2e_helpers import free_port, tiny_embedded_cfg


def run(cmd: list[str]) -> str:
    env = dict(os.environ, PORT=str(free_port()), OMP_NUM_THREADS="1")
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
    log = run(["bash", "tools/dist_test.sh", cfg, str(work / "epoch_1.pth"), "2", "--work-dir", str(work),
               "--out", str(out)])
    assert "coco/bbox_mAP" in log
    with open(out, "rb") as f:
        preds = pickle.load(f)
    assert sorted(p["img_id"] for p in preds) == [1, 2, 3, 4]  # the whole val set, merged from both ranks
