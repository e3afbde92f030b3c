"""Bad input and faults a user can meet, each with its exact outcome: nothing the user had is
deleted or overwritten, and what cannot work fails at once with the file, record or key named."""

import hashlib
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from mmcascade.apis import inference_detector, init_detector
from mmcascade.config.checks import UnusedConfigKeyError
from mmcascade.config.loading import load_tool_config
from mmcascade.datasets import CocoDataset, DatasetError
from mmcascade.datasets.embedded_dataset import EmbeddedShapesDataset

from helpers import REPO
from helpers.coco_fixtures import write_fixture
from helpers.e2e import MAIN_CFG, random_checkpoint, tiny_embedded_cfg


def test_the_generator_never_replaces_a_folder_it_did_not_write(tmp_path):
    mine = tmp_path / "my_coco"
    mine.mkdir()
    (mine / "instances_train2017.json").write_text("{}")
    with pytest.raises(
        DatasetError,
        match=r"my_coco: the embedded dataset would be generated here.*"
        r"instances_train2017.json",
    ):
        EmbeddedShapesDataset(
            data_root=str(mine), ann_file="annotations/train.json", pipeline=[], spec=dict(num_train=2, num_val=1)
        )
    assert os.listdir(mine) == ["instances_train2017.json"] and (mine / "instances_train2017.json").read_text() == "{}"
    empty = tmp_path / "empty"
    empty.mkdir()  # an empty folder is fine to fill
    ds = EmbeddedShapesDataset(
        data_root=str(empty),
        ann_file="annotations/train.json",
        pipeline=[],
        data_prefix=dict(img=""),
        spec=dict(num_train=2, num_val=1),
    )
    assert len(ds) >= 1 and not [p for p in os.listdir(tmp_path) if p.startswith(".embedded-")]


def _digest(folder) -> dict:
    return {p: hashlib.sha256((folder / p).read_bytes()).hexdigest() for p in sorted(os.listdir(folder))}


def test_the_demo_never_writes_over_its_inputs(tmp_path):
    cfg = tiny_embedded_cfg(tmp_path)
    ckpt = random_checkpoint(
        cfg, tmp_path / "m.pth", {"dataset_meta": {"classes": ("rectangle", "ellipse", "triangle", "star", "ring")}}
    )
    imgs = tmp_path / "imgs"
    for sub in ("a", "b"):
        (imgs / sub).mkdir(parents=True)
        cv2.imwrite(str(imgs / sub / "x.png"), np.full((64, 80, 3), 90, np.uint8))
    before = _digest(imgs / "a")
    proc = subprocess.run(
        [
            sys.executable,
            "demo/image_demo.py",
            str(imgs / "a"),
            cfg,
            ckpt,
            "--out-dir",
            str(imgs / "a"),
            "--device",
            "cpu",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0 and "would overwrite the inputs" in proc.stderr
    assert _digest(imgs / "a") == before
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "demo/image_demo.py",
            str(imgs / "*" / "x.png"),
            cfg,
            ckpt,
            "--out-dir",
            str(out),
            "--device",
            "cpu",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(os.listdir(out)) == ["x.png", "x_1.png"]  # same name, two outputs


def test_test_py_refuses_a_checkpoint_of_another_architecture(tmp_path):
    cascade = tiny_embedded_cfg(tmp_path)
    single = Config.fromfile(os.path.join(REPO, "configs/embedded/mask-rcnn_r18-w32-gn_fpn_embedded.py"))
    ckpt = random_checkpoint(single, tmp_path / "mask_rcnn.pth")
    proc = subprocess.run(
        [sys.executable, "tools/test.py", cascade, ckpt, "--work-dir", str(tmp_path / "w")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0
    assert "does not cover the model built from the config" in proc.stderr
    assert "key(s) missing in checkpoint: roi_head.bbox_head.0." in proc.stderr
    assert "roi_head.bbox_head.2.fc_cls.weight" in proc.stderr
    assert "coco/bbox_mAP" not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    "array, message",
    [
        (np.full((40, 50, 3), 0.5, np.float32), r"dtype float32; for a float image in \[0, 1\] use \(img \* 255\)"),
        (np.full((40, 50, 3), 30000, np.uint16), r"dtype uint16; for a 16-bit image use \(img >> 8\)"),
        (np.full((40, 50), 100, np.uint8), r"got \(40, 50\); for a grayscale image use cv2.cvtColor"),
        (np.full((40, 50, 4), 100, np.uint8), r"got \(40, 50, 4\); for BGRA drop the alpha channel"),
    ],
)
def test_inference_refuses_arrays_it_would_misread(tmp_path, array, message):
    cfg = tiny_embedded_cfg(tmp_path)
    model = init_detector(cfg, random_checkpoint(cfg, tmp_path / "m.pth"), device="cpu")
    with pytest.raises(ValueError, match=message):
        inference_detector(model, array)
    with pytest.raises(ValueError, match="image 1: "):
        inference_detector(model, [np.zeros((40, 50, 3), np.uint8), array])


def test_duplicate_ids_are_refused_when_the_dataset_is_built(tmp_path):
    images = [dict(id=1, file_name="a.png", height=60, width=80), dict(id=1, file_name="b.png", height=80, width=60)]
    ann = write_fixture(str(tmp_path), images=images)
    with pytest.raises(DatasetError, match=r"duplicate image ids \[1\] \(image id 1: 2 records, files a.png, b.png\)"):
        CocoDataset(
            ann_file=ann, data_prefix=dict(img=str(tmp_path)), metainfo=dict(classes=("cat", "dog")), pipeline=[]
        )


def test_an_image_whose_size_differs_from_its_annotation_is_named(tmp_path):
    ann = write_fixture(str(tmp_path))
    cv2.imwrite(str(tmp_path / "a.png"), np.full((80, 60, 3), 127, np.uint8))  # 80x60, not 60x80
    kwargs = dict(
        ann_file=ann,
        data_prefix=dict(img=str(tmp_path)),
        metainfo=dict(classes=("cat", "dog")),
        pipeline=[dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_mask=True)],
    )
    swapped = (
        r"a.png: the annotation says 60x80 .* decodes as 80x60; "
        r"the annotation file has width and height swapped \(the file has no EXIF rotation\)"
    )
    with pytest.raises(DatasetError, match=swapped):  # when the dataset is built, from the header
        CocoDataset(**kwargs)
    ds = CocoDataset(**kwargs, check_image_headers=False)
    with pytest.raises(ValueError, match=swapped + r" \(image id 1\)"):  # the same cause at the first read
        ds[0]
    with open(ann) as f:
        assert json.load(f)["images"][0]["height"] == 60


def test_cfg_options_that_change_nothing_are_refused(tmp_path):
    with pytest.raises(UnusedConfigKeyError, match="set train_cfg.max_epochs instead"):
        load_tool_config(MAIN_CFG, {"max_epochs": 1})
    proc = subprocess.run(
        [
            sys.executable,
            "tools/train.py",
            MAIN_CFG,
            "--work-dir",
            str(tmp_path / "w"),
            "--cfg-options",
            "max_epochs=1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "nothing reads the top-level key 'max_epochs'" in proc.stderr
    assert not (tmp_path / "w").exists()
