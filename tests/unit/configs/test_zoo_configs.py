"""Every config of the OpenMMLab Cascade R-CNN model-zoo table matches its row; the multi-scale 3x
rows beyond that table are the Cascade Mask R-CNN configs named ``*_mstrain_3x_coco``."""

import glob
import os.path as osp
import re

import pytest
from mmengine.config import Config

from helpers import REPO

CONFIGS = sorted(glob.glob(osp.join(REPO, "configs", "cascade_rcnn", "*.py")))
SEED_ROWS = [  # (backbone, style, schedule) of each table, in the seed's order
    ("r50", "caffe", "1x"),
    ("r50", "pytorch", "1x"),
    ("r50", "pytorch", "20e"),
    ("r101", "caffe", "1x"),
    ("r101", "pytorch", "1x"),
    ("r101", "pytorch", "20e"),
    ("x101_32x4d", "pytorch", "1x"),
    ("x101_32x4d", "pytorch", "20e"),
    ("x101_64x4d", "pytorch", "1x"),
    ("x101_64x4d", "pytorch", "20e"),
]


def config_name(task: str, backbone: str, style: str, schedule: str) -> str:
    caffe = "_caffe" if style == "caffe" else ""
    return f"{task}_{backbone}{caffe}_fpn_{schedule}_coco"


MS3X_ROWS = [
    ("r50", "caffe"),
    ("r50", "pytorch"),
    ("r101", "caffe"),
    ("r101", "pytorch"),
    ("x101_32x4d", "pytorch"),
    ("x101_32x8d", "pytorch"),
    ("x101_64x4d", "pytorch"),
]


def test_one_config_per_row():
    expected = {config_name(t, *row) for t in ("cascade_rcnn", "cascade_mask_rcnn") for row in SEED_ROWS}
    expected |= {config_name("cascade_mask_rcnn", b, s, "mstrain_3x") for b, s in MS3X_ROWS}
    assert {osp.basename(c)[:-3] for c in CONFIGS} == expected


@pytest.mark.parametrize("task", ["cascade_rcnn", "cascade_mask_rcnn"])
@pytest.mark.parametrize("backbone, style, schedule", SEED_ROWS)
def test_config_matches_its_row(task, backbone, style, schedule):
    name = config_name(task, backbone, style, schedule)
    cfg = Config.fromfile(osp.join(REPO, "configs", "cascade_rcnn", f"{name}.py"))
    bb = cfg.model.backbone
    depth = int(re.match(r"[rx](\d+)", backbone).group(1))
    assert bb.depth == depth and bb.style == style
    if backbone.startswith("x"):
        groups, width = map(int, re.findall(r"\d+", backbone.split("_")[1]))
        assert (bb.type, bb.groups, bb.base_width) == ("ResNeXt", groups, width)
    else:
        assert bb.type == "ResNet"
    if style == "caffe":
        assert cfg.model.data_preprocessor.bgr_to_rgb is False and cfg.model.data_preprocessor.std == [1.0] * 3
        assert bb.norm_cfg.requires_grad is False
    epochs, steps = {"1x": (12, [8, 11]), "20e": (20, [16, 19])}[schedule]
    assert cfg.train_cfg.max_epochs == epochs
    assert [s for s in cfg.param_scheduler if s.type == "MultiStepLR"][0].milestones == steps
    has_mask = task == "cascade_mask_rcnn"
    assert ("mask_head" in cfg.model.roi_head) == has_mask
    metrics = cfg.val_evaluator.metric
    assert ("segm" in metrics) == has_mask
    assert cfg.model.roi_head.stage_loss_weights == [1, 0.5, 0.25]
    assert cfg.optim_wrapper.optimizer.lr == 0.02 and cfg.auto_scale_lr.base_batch_size == 16


ALL_CONFIGS = CONFIGS + [osp.join(REPO, "configs", "embedded", "cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py")]


@pytest.mark.parametrize("path", ALL_CONFIGS, ids=osp.basename)
def test_every_type_is_registered(path):
    from mmcascade.config.checks import check_config_types

    check_config_types(Config.fromfile(path))


def test_unknown_type_names_registry_path_and_neighbours():
    from mmcascade.config.checks import UnknownTypeError, check_config_types

    cfg = Config.fromfile(CONFIGS[0])
    cfg.model.roi_head.bbox_head[1].type = "Shared2FCBoxHead"
    with pytest.raises(UnknownTypeError) as err:
        check_config_types(cfg)
    text = str(err.value)
    assert "model.roi_head.bbox_head[1].type" in text and "'model' registry" in text
    assert "'Shared2FCBBoxHead'" in text
    cfg = Config.fromfile(CONFIGS[0])
    cfg.model.train_cfg.rcnn[2].assigner.type = "MaxIouAssigner"
    with pytest.raises(UnknownTypeError, match=r"rcnn\[2\]\.assigner\.type.*'MaxIoUAssigner'"):
        check_config_types(cfg)
    cfg = Config.fromfile(CONFIGS[0])
    cfg.train_pipeline[2].type = "Resise"
    with pytest.raises(UnknownTypeError, match=r"train_pipeline\[2\].*'Resize'"):
        check_config_types(cfg)
