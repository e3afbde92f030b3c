"""The path a new user takes, from the command line: a zoo config trained and tested on data
in COCO 2017's layout, fine-tuning on a subset of classes from a checkpoint, and the compact
prediction files that the analysis tools read back."""

import json
import os
import pickle
import re
import subprocess
import sys

import pytest
from mmengine.config import Config

from helpers import REPO
from helpers.coco_layout import write_coco2017
from helpers.e2e import random_checkpoint, run_tool, tiny_embedded_cfg

ZOO_CFG = "configs/cascade_rcnn/cascade_mask_rcnn_r50_fpn_1x_coco.py"
FINETUNE_CFG = "configs/embedded/finetune-3cls_cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py"


def test_zoo_config_trains_and_tests_on_coco_layout_data(tmp_path):
    root = write_coco2017(str(tmp_path / "coco"), num_val=2)  # one annotated val image, one without
    work = str(tmp_path / "work")
    env = dict(os.environ, MMCASCADE_OFFLINE="1", MMCASCADE_CACHE=str(tmp_path / "cache"))
    # No ImageNet weights can be downloaded here: a clear message, not a raw URLError.
    proc = subprocess.run(
        [sys.executable, "tools/train.py", ZOO_CFG, "--work-dir", work, "--cfg-options", f"data_root={root}"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode != 0
    assert "could not get the pretrained weights (init_cfg)" in proc.stderr
    assert "model.backbone.init_cfg=None" in proc.stderr and "URLError" not in proc.stderr
    # The config's real image size (1333x800), 4 usable train images at batch 2: 2 iterations.
    proc = run_tool(
        "tools/train.py",
        ZOO_CFG,
        "--work-dir",
        work,
        "--cfg-options",
        f"data_root={root}",
        "train_cfg.max_epochs=1",
        "model.backbone.init_cfg=None",
    )
    log = proc.stdout + proc.stderr
    assert re.search(r"Epoch\(train\)\s+\[1\]\[2/2\].*s2\.loss_mask", log)
    assert "coco/segm_mAP" in log and os.path.exists(os.path.join(work, "epoch_1.pth"))
    out = str(tmp_path / "preds.pkl")
    proc = run_tool(
        "tools/test.py",
        ZOO_CFG,
        os.path.join(work, "epoch_1.pth"),
        "--work-dir",
        work,
        "--out",
        out,
        "--cfg-options",
        f"data_root={root}",
    )
    assert "Epoch(test) [2/2]" in proc.stdout + proc.stderr
    with open(out, "rb") as f:
        preds = pickle.load(f)
    assert sorted(p["img_id"] for p in preds) == [1003, 1010]
    assert os.path.exists(str(tmp_path / "preds.bbox.json"))


def test_compact_out_file_is_read_by_the_analysis_tools(tmp_path, trained_tiny):
    cfg = trained_tiny["cfg"]
    out = tmp_path / "preds.pkl"
    test_log = run_tool(
        "tools/test.py", cfg, str(trained_tiny["ckpt"]), "--work-dir", str(tmp_path / "work"), "--out", str(out)
    )
    test_log = test_log.stdout + test_log.stderr
    with open(out, "rb") as f:
        preds = pickle.load(f)
    masks = [m for p in preds for m in p["pred_instances"].get("masks", [])]
    assert masks and all(set(m) == {"size", "counts"} and isinstance(m["counts"], bytes) for m in masks)
    assert out.stat().st_size < 200_000  # RLE, not full-size boolean masks
    assert preds[0]["classes"][0] == "rectangle"
    with open(tmp_path / "preds.segm.json") as f:
        segm = json.load(f)
    assert len(segm) == sum(len(p["pred_instances"]["scores"]) for p in preds)
    ann = Config.fromfile(cfg).test_evaluator.ann_file
    table = run_tool(
        "tools/analysis_tools/eval_metric.py",
        ann,
        str(out),
        str(tmp_path / "preds.segm.json"),
        "--metric",
        "segm",
        "--names",
        "pkl",
        "json",
    ).stdout
    rows = {
        line.split("|")[1].strip(): line.split("|")[2:8]
        for line in table.splitlines()
        if "pkl" in line or "json" in line and "|" in line
    }
    assert rows["pkl"] == rows["json"]
    run_tool("tools/analysis_tools/confusion_matrix.py", cfg, str(out), str(tmp_path / "cm"))
    assert (tmp_path / "cm" / "confusion_matrix.png").exists()
    # the error analysis reads the same file: its AP50 is the evaluator's, its errors add up
    errors = tmp_path / "errors"
    proc = run_tool("-m", "mmcascade", "analyze", "coco_error_analysis", str(out), ann, "--out", str(errors))
    summary = json.loads((errors / "error_breakdown.json").read_text())
    ap50 = float(re.search(r"bbox_mAP_50: ([0-9.]+)", test_log).group(1)) * 100
    assert abs(summary["ap50"] - ap50) <= 0.05 + 1e-9, (summary["ap50"], ap50)
    detections = sum(len(p["pred_instances"]["scores"]) for p in preds)
    wrong = sum(v for k, v in summary["counts"].items() if k != "missed")
    assert 0 < wrong <= detections and set(summary["dap"]) == {"cls", "loc", "both", "dupe", "bkg", "missed"}
    assert "AP50 gained by fixing each kind of error" in proc.stdout
    for picture in ("error_breakdown.png", "pr_all.png", "pr_rectangle.png"):
        assert (errors / picture).stat().st_size > 1000, picture


def test_flip_tta_on_a_config_without_tta(tmp_path, trained_tiny):
    cfg = trained_tiny["cfg"]
    proc = run_tool(
        "tools/test.py",
        cfg,
        str(trained_tiny["ckpt"]),
        "--work-dir",
        str(tmp_path / "work"),
        "--tta",
        "--out",
        str(tmp_path / "tta.pkl"),
    )
    assert "coco/bbox_mAP" in proc.stdout + proc.stderr
    with open(tmp_path / "tta.pkl", "rb") as f:
        assert sorted(p["img_id"] for p in pickle.load(f)) == [1, 2, 3, 4]


def test_finetune_recipe_on_three_classes(tmp_path):
    """The README's recipe: the fine-tuning config as shipped, with only the data and the
    checkpoint path changed (a random 5-class checkpoint stands in for the main job's)."""
    tiny = tiny_embedded_cfg(tmp_path, spec=dict(num_train=6, num_val=3, seed=3))
    ckpt = random_checkpoint(
        tiny,
        tmp_path / "shapes5.pth",
        {"dataset_meta": {"classes": ("rectangle", "ellipse", "triangle", "star", "ring")}},
    )
    root = Config.fromfile(tiny).train_dataloader.dataset.data_root
    proc = run_tool(
        "tools/train.py",
        FINETUNE_CFG,
        "--work-dir",
        str(tmp_path / "ft"),
        "--auto-scale-lr",
        "--cfg-options",
        f"data_root={root}",
        f"load_from={ckpt}",
        "train_cfg.max_epochs=1",
        "train_cfg.val_interval=1",
        "train_dataloader.num_workers=0",
        "val_dataloader.num_workers=0",
        "train_dataloader.persistent_workers=False",
        "val_dataloader.persistent_workers=False",
        "train_dataloader.dataset.spec.num_train=6",
        "val_dataloader.dataset.spec.num_train=6",
        "train_dataloader.dataset.spec.num_val=3",
        "val_dataloader.dataset.spec.num_val=3",
    )
    log = proc.stdout + proc.stderr
    assert "the checkpoint predicts 5 classes, this config 3" in log
    assert "roi_head.bbox_head.0.fc_cls" in log and "roi_head.mask_head.2.conv_logits" in log
    assert "batch size of 16 and the current batch size is 2. Scaling the original LR by 0.125" in log
    lrs = [float(x) for x in re.findall(r"Epoch\(train\).*?lr: ([0-9.e+-]+)", log)]
    assert lrs and all(lr <= 0.01 * 0.125 for lr in lrs)  # the config's 0.01, scaled for one process at batch 2
    assert "coco/bbox_mAP" in log and "| triangle" in log and "| star" not in log


@pytest.mark.parametrize(
    "option, message",
    [
        (
            "model.roi_head.bbox_head.0.num_classes=3",
            "model.roi_head.bbox_head[0].num_classes=3, model.roi_head.bbox_head[1].num_classes=5",
        ),
        (
            "train_dataloader.dataset.metainfo.classes=[rectangle,ring]",
            "train_dataloader.dataset declares 2 classes (rectangle, ring)",
        ),
    ],
)
def test_heads_and_datasets_must_agree_on_classes_before_any_work(tmp_path, option, message):
    cfg = tiny_embedded_cfg(tmp_path)
    proc = subprocess.run(
        [sys.executable, "tools/train.py", cfg, "--work-dir", str(tmp_path / "w"), "--cfg-options", option],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0 and message in proc.stderr
    assert "Epoch(train)" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("heads", [[3, 80, 80]])
def test_model_build_refuses_heads_that_disagree(heads):
    from mmcascade.config.classes import ClassesMismatchError
    from mmcascade.registry import MODELS

    from helpers import tiny_model_cfg

    cfg = tiny_model_cfg()
    for head, n in zip(cfg["roi_head"]["bbox_head"], heads):
        head["num_classes"] = n
    with pytest.raises(ClassesMismatchError, match=r"roi_head.bbox_head\[0\].num_classes=3"):
        MODELS.build(cfg)
