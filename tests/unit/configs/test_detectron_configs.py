"""Every config of the author's Detectron table (seed 000) matches its row and builds."""

import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from mmcascade.config.checks import check_config_types
from mmcascade.registry import MODELS

from helpers import REPO

DIR = osp.join(REPO, "configs", "detectron_cascade")
BACKBONES = {
    "r50": ("ResNet", 50, None),
    "r101": ("ResNet", 101, None),
    "x101_64x4d": ("ResNeXt", 101, (64, 4)),
    "x101_32x8d": ("ResNeXt", 101, (32, 8)),
    "x152_32x8d": ("ResNeXt", 152, (32, 8)),
}
ROWS = [
    (kind, bb)
    for kind in ("faster_rcnn", "cascade_rcnn", "mask_rcnn", "cascade_mask_rcnn")
    for bb in ("r50", "r101", "x101_64x4d", "x101_32x8d")
]
ROWS += [(kind, "x152_32x8d") for kind in ("mask_rcnn", "cascade_mask_rcnn")]


def path_of(kind: str, backbone: str, tta: bool = False) -> str:
    if backbone == "x152_32x8d":
        return osp.join(DIR, f"{kind}_{backbone}_fpn_in5k_s1x{'_tta' if tta else ''}_detectron.py")
    return osp.join(DIR, f"{kind}_{backbone}_fpn_1x_detectron.py")


def test_one_config_per_row():
    expected = {path_of(k, b) for k, b in ROWS} | {
        path_of(k, "x152_32x8d", True) for k in ("mask_rcnn", "cascade_mask_rcnn")
    }
    assert set(glob.glob(osp.join(DIR, "*.py"))) == expected


@pytest.mark.parametrize("kind, backbone", ROWS)
def test_row_settings_and_build(kind, backbone):
    cfg = Config.fromfile(path_of(kind, backbone))
    check_config_types(cfg)
    bb = cfg.model.backbone
    typ, depth, gw = BACKBONES[backbone]
    # Detectron's ResNets stride in the 1x1 conv (caffe style), its ResNeXts in the 3x3 conv
    assert (bb.type, bb.depth, bb.style) == (typ, depth, "pytorch" if gw else "caffe")
    pre = cfg.model.data_preprocessor
    expect_rgb = backbone == "x101_64x4d"  # torchvision-style ImageNet weights
    assert pre.bgr_to_rgb is expect_rgb and (pre.std[0] > 1) == (backbone.startswith("x101"))
    if gw:
        assert (bb.groups, bb.base_width) == gw
    cascade = kind.startswith("cascade")
    roi = cfg.model.roi_head
    assert roi.type == ("CascadeRoIHead" if cascade else "StandardRoIHead")
    assert ("mask_head" in roi) == ("mask" in kind)
    assert roi.bbox_roi_extractor.roi_layer.aligned is False and roi.bbox_roi_extractor.roi_layer.sampling_ratio == 2
    if cascade:  # the author's semantics
        assert (roi.test_ensemble, roi.resample_later_stages, roi.compensate_stage_grads) == (
            "last_rois_probs",
            False,
            True,
        )
    per_gpu = 2 if re.match(r"r\d+$", backbone) else 1
    assert cfg.train_dataloader.batch_size == per_gpu and cfg.optim_wrapper.optimizer.lr == 0.01 * per_gpu
    assert cfg.train_cfg.max_epochs == (17 if backbone == "x152_32x8d" else 12)
    cfg.model.backbone.init_cfg = None
    with torch.device("meta"):
        model = MODELS.build(cfg.model)
    n_fc_cls = sum(1 for k in model.state_dict() if k.endswith("fc_cls.weight"))
    assert n_fc_cls == (3 if cascade else 1)


@pytest.mark.parametrize("kind", ["mask_rcnn", "cascade_mask_rcnn"])
def test_tta_rows(kind):
    cfg = Config.fromfile(path_of(kind, "x152_32x8d", tta=True))
    check_config_types(cfg)
    assert cfg.tta_model.type == "DetTTAModel"
    views = cfg.tta_pipeline[1].transforms
    assert len(views[0]) == 9 and [v.prob for v in views[1]] == [1.0, 0.0]
    assert "tta_model" not in Config.fromfile(path_of(kind, "x152_32x8d"))
