"""Sliced inference through the tools, as users run them: the demo and ``test.py --slice`` on a
COCO-format set of large images, agreeing with the Python API."""

import json
import os.path as osp
import pickle
import subprocess
import sys

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmengine.config import Config

from mmcascade.apis import inference_sliced, init_detector
from mmcascade.datasets.embedded import CLASSES

from helpers import REPO
from helpers.e2e import random_checkpoint, run_tool

LARGE_CFG = osp.join(REPO, "configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded_large-images.py")


@pytest.fixture(scope="module")
def large_set(tmp_path_factory):
    """The large-images config on 2 generated 480x640 images, and seeded random weights."""
    tmp = tmp_path_factory.mktemp("sliced")
    cfg = Config.fromfile(LARGE_CFG)
    root = str(tmp / "large") + "/"
    cfg.test_dataloader.dataset.update(data_root=root, num_images=2, size=(480, 640), objects_per_mpix=100)
    cfg.test_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.test_evaluator.ann_file = root + "annotations/val.json"
    path = str(tmp / "large_images.py")
    cfg.dump(path)
    ckpt = random_checkpoint(path, tmp / "random.pth", {"dataset_meta": {"classes": CLASSES}})
    return dict(cfg=path, ckpt=ckpt, root=root, tmp=tmp)


def test_test_tool_slices_evaluates_and_writes_merged_results(large_set):
    out = large_set["tmp"] / "preds.pkl"
    work = large_set["tmp"] / "work"
    args = ["tools/test.py", large_set["cfg"], large_set["ckpt"], "--work-dir", str(work)]
    proc = run_tool(*args, "--slice", "256x192", "--slice-overlap", "0.25", "--out", str(out))
    assert "coco/bbox_mAP" in proc.stdout + proc.stderr and "coco/segm_mAP" in proc.stdout + proc.stderr
    preds = pickle.load(open(out, "rb"))
    ann = json.load(open(osp.join(large_set["root"], "annotations/val.json")))
    assert [p["img_id"] for p in preds] == [im["id"] for im in ann["images"]]
    first = preds[0]["pred_instances"]
    assert len(first["bboxes"]) > 0 and all(m["size"] == [480, 640] for m in first["masks"])
    assert first["bboxes"][:, 2].max() <= 640 and first["bboxes"][:, 3].max() <= 480
    assert first["bboxes"][:, 0].max() > 400  # detections from tiles away from the origin
    # the tool gives what the Python API gives for the same image and options
    model = init_detector(large_set["cfg"], large_set["ckpt"], device="cpu")
    image = osp.join(large_set["root"], ann["images"][0]["file_name"])
    api = inference_sliced(model, image, "256x192", overlap=0.25).pred_instances
    assert len(api) == len(first["bboxes"])
    assert torch.allclose(api.bboxes, first["bboxes"], atol=1e-4)  # MMDetection's layout: tensors
    assert np.allclose(api.scores.numpy(), first["scores"].numpy(), atol=1e-6)
    assert [dict(rle, counts=rle["counts"].encode()) for rle in api.masks.to_rle()] == first["masks"]
    # --slice and --tta are two test-time wrappers: refused together, before any work
    both = subprocess.run(
        [sys.executable, *args, "--slice", "256", "--tta"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert both.returncode != 0 and "--slice and --tta cannot be combined" in both.stderr


def test_demo_slices_a_large_image_and_draws_it(large_set, tmp_path):
    image = osp.join(large_set["root"], "val/00001.png")
    out_dir = tmp_path / "drawn"
    base = ["-m", "mmcascade", "demo", image, large_set["cfg"], large_set["ckpt"], "--out-dir", str(out_dir)]
    run_tool(*base, "--slice", "256x192", "--merge", "nmm", "--match-metric", "ios", "--score-thr", "0.2")
    drawn = cv2.imread(str(out_dir / "00001.png"))
    assert drawn.shape == (480, 640, 3) and not np.array_equal(drawn, cv2.imread(image))
    bad = subprocess.run([sys.executable, *base, "--slice", "16"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode != 0 and "at least 32 pixels" in bad.stderr


def test_large_shapes_dataset_annotations_match_their_masks(large_set):
    ann = json.load(open(osp.join(large_set["root"], "annotations/val.json")))
    assert len(ann["images"]) == 2 and {c["name"] for c in ann["categories"]} == set(CLASSES)
    for a in ann["annotations"][:20]:
        m = mask_utils.decode(a["segmentation"])
        ys, xs = np.nonzero(m)
        assert a["bbox"] == [xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1]
        assert a["area"] == m.sum() >= 30
