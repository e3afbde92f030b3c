"""Inputs that used to give a wrong result with exit 0, or fail late with a message hiding the
cause: each now fails before the long work, naming the file, record, tensor or key, or gives the
right result. The tools run as users run them."""

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcascade.apis import inference_detector, init_detector
from mmcascade.config.files import ConfigFileError, check_config_file
from mmcascade.config.loading import load_tool_config
from mmcascade.datasets.embedded import CLASSES

from helpers import REPO
from helpers.coco_fixtures import write_fixture
from helpers.e2e import MAIN_CFG, random_checkpoint, tiny_embedded_cfg


def tool(*args, env=None):
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=600, env=env or os.environ.copy()
    )


@pytest.fixture(scope="module")
def same_names(tmp_path_factory):
    """A COCO-format set of two images that share a file name (``a/x.png``, ``b/x.png``) with
    one shape each, the main config pointed at it, and seeded random weights."""
    tmp = tmp_path_factory.mktemp("same_names")
    for sub, colour in (("a", 90), ("b", 160)):
        (tmp / sub).mkdir()
        img = np.full((96, 128, 3), colour, np.uint8)
        cv2.rectangle(img, (20, 20), (70, 60), (250, 40, 40), -1)
        cv2.imwrite(str(tmp / sub / "x.png"), img)
    images = [
        dict(id=1, file_name="a/x.png", height=96, width=128),
        dict(id=2, file_name="b/x.png", height=96, width=128),
    ]
    anns = [dict(id=i, image_id=i, category_id=1, bbox=[20, 20, 51, 41], area=2091, iscrowd=0) for i in (1, 2)]
    ann = write_fixture(
        str(tmp), annotations=anns, images=images, categories=[dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)]
    )
    cfg = Config.fromfile(tiny_embedded_cfg(tmp))
    cfg.test_dataloader.dataset = dict(
        type="CocoDataset",
        data_root=str(tmp) + "/",
        ann_file=ann,
        data_prefix=dict(img=str(tmp) + "/"),
        metainfo=dict(classes=CLASSES),
        test_mode=True,
        pipeline=cfg.test_dataloader.dataset.pipeline,
    )
    cfg.test_evaluator = dict(type="CocoMetric", ann_file=ann, metric="bbox")
    path = str(tmp / "same_names.py")
    cfg.dump(path)
    ckpt = random_checkpoint(path, tmp / "random.pth", {"dataset_meta": {"classes": CLASSES}})
    return dict(cfg=path, ckpt=ckpt, tmp=tmp)


def test_show_dir_keeps_one_picture_per_image(same_names):
    work = same_names["tmp"] / "work_show"
    proc = tool("tools/test.py", same_names["cfg"], same_names["ckpt"], "--work-dir", str(work), "--show-dir", "vis")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (stamp,) = [d for d in os.listdir(work) if os.path.isdir(work / d)]
    assert sorted(os.listdir(work / stamp / "vis")) == ["x.png", "x_1.png"]


def test_truncated_test_image_is_found_before_testing_or_skipped_when_asked(same_names, tmp_path):
    data = (same_names["tmp"] / "b" / "x.png").read_bytes()
    cfg = Config.fromfile(same_names["cfg"])
    broken = tmp_path / "b"
    broken.mkdir()
    (broken / "x.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "a").symlink_to(same_names["tmp"] / "a")
    cfg.test_dataloader.dataset.data_prefix = dict(img=str(tmp_path) + "/")
    path = str(tmp_path / "broken.py")
    cfg.dump(path)
    proc = tool("tools/test.py", path, same_names["ckpt"], "--work-dir", str(tmp_path / "w1"))
    assert proc.returncode != 0 and "coco/bbox_mAP" not in proc.stdout + proc.stderr
    assert "1 of 2 test image(s) cannot be read" in proc.stderr and "b/x.png" in proc.stderr
    assert "--skip-bad-images" in proc.stderr
    proc = tool("tools/test.py", path, same_names["ckpt"], "--work-dir", str(tmp_path / "w2"), "--skip-bad-images")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout + proc.stderr
    assert "coco/bbox_mAP" in out and "evaluating 1 of the 2 images" in out


def test_test_py_refuses_nan_weights_before_testing(same_names, tmp_path):
    ckpt = torch.load(same_names["ckpt"], weights_only=True)
    ckpt["state_dict"]["roi_head.bbox_head.1.fc_cls.weight"][0, 0] = float("nan")
    ckpt["state_dict"]["neck.fpn_convs.0.conv.bias"][:] = float("inf")
    torch.save(ckpt, tmp_path / "nan.pth")
    proc = tool("tools/test.py", same_names["cfg"], str(tmp_path / "nan.pth"), "--work-dir", str(tmp_path / "w"))
    assert proc.returncode != 0 and "coco/bbox_mAP" not in proc.stdout + proc.stderr
    assert "2 weight tensor(s) hold NaN or infinite values: neck.fpn_convs.0.conv.bias (64 of 64 values)" in proc.stderr
    assert "roi_head.bbox_head.1.fc_cls.weight (1 of" in proc.stderr


def test_resume_from_another_architecture_is_refused_like_test(tmp_path):
    cfg = tiny_embedded_cfg(tmp_path)
    single = Config.fromfile(os.path.join(REPO, "configs/embedded/mask-rcnn_r18-w32-gn_fpn_embedded.py"))
    ckpt = random_checkpoint(single, tmp_path / "mask_rcnn.pth")
    proc = tool("tools/train.py", cfg, "--work-dir", str(tmp_path / "w"), "--resume", ckpt)
    assert proc.returncode != 0
    assert "does not cover the model built from the config" in proc.stderr
    assert "roi_head.bbox_head.2.fc_cls.weight" in proc.stderr and "param_groups" not in proc.stderr


def test_config_files_that_cannot_be_read(tmp_path):
    (tmp_path / "a.py").write_text("_base_ = './b.py'\nx = 1\n")
    (tmp_path / "b.py").write_text("_base_ = ['./a.py']\n")
    (tmp_path / "self.py").write_text("_base_ = './self.py'\n")
    (tmp_path / "broken.py").write_text("_base_ = './ok.py'\nmodel = dict(\n    type='CascadeRCNN',,\n)\n")
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "child.py").write_text("_base_ = './broken.py'\n")
    with pytest.raises(ConfigFileError, match=r"circular _base_ inheritance: .*a.py -> .*b.py -> .*a.py"):
        check_config_file(str(tmp_path / "a.py"))
    with pytest.raises(ConfigFileError, match=r"circular _base_ inheritance: .*self.py -> .*self.py"):
        check_config_file(str(tmp_path / "self.py"))
    with pytest.raises(ConfigFileError, match=r"broken.py, line 3: syntax error: .*\n    type='CascadeRCNN',,"):
        check_config_file(str(tmp_path / "child.py"))  # found through the child's _base_
    proc = tool("tools/train.py", str(tmp_path / "a.py"), "--work-dir", str(tmp_path / "w"))
    assert proc.returncode != 0 and "circular _base_ inheritance" in proc.stderr and "RecursionError" not in proc.stderr


def test_command_line_mistakes_are_named(tmp_path):
    base = ["tools/train.py", MAIN_CFG, "--work-dir", str(tmp_path / "w")]
    proc = tool(*base, "--cfg-options", "train_cfg.max_epochs")
    assert proc.returncode == 2 and "--cfg-options 'train_cfg.max_epochs': expected KEY=VALUE" in proc.stderr
    with pytest.raises(TypeError, match=r"train_cfg.max_epochs=ten: the config's value is 9, so it expects a number"):
        load_tool_config(MAIN_CFG, {"train_cfg.max_epochs": "ten"})
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    proc = tool(*base, "--launcher", "slurm", env=env)
    assert proc.returncode != 0 and "--launcher slurm: SLURM_PROCID, SLURM_NTASKS not set" in proc.stderr
    env = {k: v for k, v in env.items() if k not in ("RANK", "WORLD_SIZE")}
    proc = tool(*base, "--launcher", "pytorch", env=env)
    assert proc.returncode != 0 and "tools/dist_train.sh" in proc.stderr


@pytest.mark.parametrize("shape", [(4, 4000, 3), (4000, 2, 3), (1, 1, 3)])
def test_images_of_extreme_aspect_ratio_are_detected_in_their_frame(shape):
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="random weights"):
        model = init_detector(MAIN_CFG, None, device="cpu")
    result = inference_detector(model, np.full(shape, 127, np.uint8))
    boxes = result.pred_instances.bboxes
    assert result.ori_shape == shape[:2] and min(result.img_shape) >= 1
    assert len(boxes) and float(boxes[:, 2].max()) <= shape[1] and float(boxes[:, 3].max()) <= shape[0]
    with pytest.raises(ValueError, match=r"the image is empty \(0x5 pixels"):
        inference_detector(model, np.zeros((0, 5, 3), np.uint8))


def test_testing_without_ground_truth_writes_results(same_names, tmp_path):
    """An images-only json (as COCO test-dev's) with format_only: results written, nothing evaluated."""
    import json

    cfg = Config.fromfile(same_names["cfg"])
    info = json.load(open(cfg.test_dataloader.dataset.ann_file))
    (tmp_path / "info.json").write_text(json.dumps(dict(images=info["images"], categories=info["categories"])))
    prefix = str(tmp_path / "results")
    options = [
        f"test_dataloader.dataset.ann_file={tmp_path / 'info.json'}",
        "test_evaluator.format_only=True",
        f"test_evaluator.outfile_prefix={prefix}",
    ]
    proc = tool(
        "tools/test.py",
        same_names["cfg"],
        same_names["ckpt"],
        "--work-dir",
        str(tmp_path / "w"),
        "--cfg-options",
        *options,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dets = json.load(open(prefix + ".bbox.json"))
    assert {d["image_id"] for d in dets} == {1, 2} and "coco/bbox_mAP" not in proc.stdout + proc.stderr
