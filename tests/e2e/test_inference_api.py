"""init_detector / inference_detector: zoo names, files, URLs, class names, bad input."""

import os

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcascade.apis import CheckpointError, inference_detector, init_detector
from mmcascade.config.class_names import COCO_CLASSES
from mmcascade.datasets.embedded import CLASSES as SHAPES
from mmcascade.registry import DATASETS

from helpers import REPO
from helpers.e2e import random_checkpoint, tiny_embedded_cfg


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    cfg = tiny_embedded_cfg(tmp)
    DATASETS.build(Config.fromfile(cfg).test_dataloader.dataset)  # generates the images
    ckpt = random_checkpoint(cfg, tmp / "tiny.pth", {"dataset_meta": {"classes": SHAPES}})
    return cfg, ckpt


def test_zoo_name_and_v2_checkpoint_build_and_run(tmp_path):
    """The published layout with v2.0 meta (CLASSES, mmcv_version, config) loads by zoo name."""
    cfg = Config.fromfile(os.path.join(REPO, "configs/cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py"))
    cfg.model.backbone.init_cfg = None
    meta = {"CLASSES": COCO_CLASSES, "mmcv_version": "1.0.2", "config": cfg.pretty_text}
    ckpt = random_checkpoint(cfg, tmp_path / "published.pth", meta)
    model = init_detector("cascade_rcnn_r50_fpn_1x_coco", ckpt)
    assert model.dataset_meta["classes"] == COCO_CLASSES and not model.training
    result = inference_detector(model, np.full((120, 160, 3), 127, np.uint8))
    inst = result.pred_instances
    assert inst.bboxes.shape[1] == 4 and inst.bboxes.dtype == torch.float32
    assert len(inst.scores) == len(inst.labels) <= 100
    assert result.ori_shape == (120, 160) and result.img_shape == (800, 1067)
    if len(inst):
        assert inst.bboxes[:, 2].max() <= 160 and inst.bboxes[:, 3].max() <= 120


def test_paths_and_arrays_give_the_same_detections(tiny):
    import cv2

    cfg, ckpt = tiny
    model = init_detector(cfg, ckpt)
    assert model.dataset_meta["classes"] == SHAPES
    # MMDetection's palette argument (third, as there): the spec is kept, the visualiser resolves it
    assert init_detector(cfg, ckpt, "random", "cpu").dataset_meta["palette"] == "random"
    root = Config.fromfile(cfg).test_dataloader.dataset.data_root
    files = sorted(f for f in os.listdir(root + "val") if f.endswith(".png"))[:2]
    paths = [root + "val/" + f for f in files]
    by_path = inference_detector(model, paths)
    by_array = inference_detector(model, [cv2.imread(p) for p in paths])
    assert len(inference_detector(model, paths, batch_size=2)) == 2
    for a, b, path in zip(by_path, by_array, paths):
        assert torch.equal(a.pred_instances.bboxes, b.pred_instances.bboxes)
        assert torch.equal(a.pred_instances.scores, b.pred_instances.scores)
        assert a.pred_instances.masks.shape[1:] == cv2.imread(path).shape[:2]


def test_checkpoint_for_other_classes_is_explained(tiny, tmp_path):
    cfg, _ = tiny
    wrong_meta = random_checkpoint(cfg, tmp_path / "a.pth", {"CLASSES": ("cat", "dog", "bird")})
    with pytest.raises(CheckpointError, match="trained on 3 classes .*predict 5"):
        init_detector(cfg, wrong_meta)
    # no class names recorded: the classifier's shape tells
    three = Config.fromfile(cfg)
    for head in three.model.roi_head.bbox_head + three.model.roi_head.mask_head:
        head.num_classes = 3
    random_checkpoint(three, tmp_path / "b.pth")
    with pytest.raises(CheckpointError, match="trained on 3 classes, the config declares 5"):
        init_detector(cfg, str(tmp_path / "b.pth"))


def test_checkpoint_by_url_is_downloaded_and_cached(tiny, file_server, tmp_path, monkeypatch):
    monkeypatch.setenv("MMCASCADE_CACHE", str(tmp_path / "cache"))
    cfg, ckpt = tiny
    url = file_server.add("/ckpt/tiny.pth", open(ckpt, "rb").read())
    model = init_detector(cfg, url)
    assert torch.equal(
        model.state_dict()["rpn_head.rpn_cls.weight"],
        torch.load(ckpt, weights_only=True)["state_dict"]["rpn_head.rpn_cls.weight"],
    )
    assert (tmp_path / "cache").exists()
    # a mirror replaces the host of an https URL (here by the loopback server)
    mirrored = init_detector(cfg, "https://download.example.org/ckpt/tiny.pth", mirror=file_server.base)
    assert torch.equal(mirrored.state_dict()["rpn_head.rpn_cls.weight"], model.state_dict()["rpn_head.rpn_cls.weight"])


def test_unknown_names_are_clear_errors(tiny):
    cfg, _ = tiny
    with pytest.raises(
        FileNotFoundError,
        match="is not a config file, a shipped config or a model-zoo name; did you mean cascade_rcnn_r50_fpn_1x_coco",
    ):
        init_detector("cascade_rcnn_r50_fpn_3x_coco")
    with pytest.raises(FileNotFoundError, match=r"not a file, an http\(s\) URL or a model-zoo name"):
        init_detector(cfg, "no_such_checkpoint.pth")


def test_test_py_refuses_a_checkpoint_for_other_classes_before_running(tiny, tmp_path):
    import subprocess
    import sys

    cfg, _ = tiny
    wrong = random_checkpoint(cfg, tmp_path / "c.pth", {"CLASSES": ("cat", "dog", "bird")})
    proc = subprocess.run(
        [sys.executable, "tools/test.py", cfg, wrong, "--work-dir", str(tmp_path / "w")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "trained on 3 classes (cat, dog, bird...), but the config's box heads predict 5" in proc.stderr
    assert not (tmp_path / "w").exists() or not any((tmp_path / "w").rglob("*.json"))
