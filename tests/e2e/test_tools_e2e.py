"""tools/train.py and tools/test.py on a tiny generated embedded dataset, as subprocesses."""

import glob
import json
import os.path as osp

import cv2
from mmengine.config import Config

from helpers import REPO
from helpers.e2e import MAIN_CFG, run_tool


def test_train_then_test_with_pictures(tmp_path, trained_tiny):
    cfg, work, ckpt = trained_tiny["cfg"], trained_tiny["work"], trained_tiny["ckpt"]
    assert ckpt.exists() and (work / "last_checkpoint").exists()
    scalars = glob.glob(str(work / "*" / "vis_data" / "scalars.json"))
    assert scalars
    with open(scalars[0]) as f:
        lines = [json.loads(x) for x in f]
    assert any("coco/bbox_mAP" in x for x in lines) and any("s2.loss_cls" in x for x in lines)
    proc = run_tool(
        "tools/test.py",
        cfg,
        str(ckpt),
        "--work-dir",
        str(work),
        "--show-dir",
        "vis",
        "--out",
        str(tmp_path / "preds.pkl"),
    )
    log = proc.stdout + proc.stderr
    assert "coco/bbox_mAP" in log and "coco/segm_mAP" in log and "| category" in log
    pictures = glob.glob(str(work / "*" / "vis" / "*.png"))
    assert len(pictures) == 4
    img = cv2.imread(pictures[0])
    assert img is not None and img.shape[1] > img.shape[0] and img.std() > 1
    assert (tmp_path / "preds.pkl").stat().st_size > 0
    # publishing reads our own checkpoint with weights_only=True in a fresh process
    out = run_tool("tools/model_converters/publish_model.py", str(ckpt), str(tmp_path / "model.pth")).stdout.strip()
    assert osp.basename(out).startswith("model-") and osp.exists(out)
    import hashlib

    import torch

    with open(out, "rb") as f:
        assert osp.basename(out)[6:14] == hashlib.sha256(f.read()).hexdigest()[:8]
    slim = torch.load(out, weights_only=True)
    assert set(slim) == {"meta", "state_dict"} and "message_hub" not in slim["meta"]


def test_test_time_augmentation_through_test_py(tmp_path, trained_tiny):
    cfg_path = trained_tiny["cfg"]
    work = tmp_path / "work"
    tta = Config.fromfile(osp.join(REPO, "configs", "_base_", "tta.py"))
    cfg = Config.fromfile(cfg_path)
    cfg.tta_model = tta.tta_model
    pipeline = tta.tta_pipeline
    pipeline[1].transforms[0] = [dict(type="Resize", scale=s, keep_ratio=True) for s in [(320, 256), (400, 320)]]
    cfg.tta_pipeline = pipeline
    tta_cfg = str(tmp_path / "tiny_tta.py")
    cfg.dump(tta_cfg)
    proc = run_tool(
        "tools/test.py",
        tta_cfg,
        str(trained_tiny["ckpt"]),
        "--work-dir",
        str(work),
        "--tta",
        "--out",
        str(tmp_path / "tta.pkl"),
    )
    assert "coco/bbox_mAP" in proc.stdout + proc.stderr
    import pickle

    with open(tmp_path / "tta.pkl", "rb") as f:
        preds = pickle.load(f)
    assert sorted(p["img_id"] for p in preds) == [1, 2, 3, 4]


def test_amp_without_gpu_fails_at_once():
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "tools/train.py", MAIN_CFG, "--amp", "--work-dir", "/tmp/unused-amp"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "--amp needs a GPU" in proc.stderr
