"""Our full-size models have exactly the published state_dict keys and shapes, and such a
checkpoint loads strictly through the safe loader."""

import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmcascade.apis import CheckpointError, class_names_from_meta, load_checkpoint
from mmcascade.registry import MODELS

from helpers import DATA, REPO

REF_DIR = osp.join(DATA, "reference")
REF_FILES = sorted(glob.glob(osp.join(REF_DIR, "keys_*.json")))


def zoo_config(ref_name: str) -> str:
    """Our config file of a published row, e.g. ``cascade-rcnn_r50-caffe_fpn_1x_coco`` ->
    ``configs/cascade_rcnn/cascade_rcnn_r50_caffe_fpn_1x_coco.py``."""
    name = ref_name.replace("-", "_")
    return osp.join(REPO, "configs", "cascade_rcnn", f"{name}.py")


def build_full(ref_name: str, device: str = "meta"):
    cfg = Config.fromfile(zoo_config(ref_name)).model
    cfg.backbone.init_cfg = None
    with torch.device(device):
        return MODELS.build(cfg)


def test_reference_files_present():
    assert len(REF_FILES) == 20


@pytest.mark.parametrize("path", REF_FILES, ids=lambda p: osp.basename(p)[5:-5])
def test_published_keys_and_shapes(path):
    name = osp.basename(path)[5:-5]
    model = build_full(name)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    with open(path) as f:
        ref = json.load(f)
    assert sorted(set(ours) - set(ref)) == [] and sorted(set(ref) - set(ours)) == []
    assert {k: v for k, v in ours.items() if ref[k] != v} == {}


def test_spot_check_shapes():
    sd = build_full("cascade-mask-rcnn_r50_fpn_1x_coco").state_dict()
    assert tuple(sd["rpn_head.rpn_cls.weight"].shape) == (3, 256, 1, 1)
    assert tuple(sd["rpn_head.rpn_reg.weight"].shape) == (12, 256, 1, 1)
    assert tuple(sd["roi_head.bbox_head.0.shared_fcs.0.weight"].shape) == (1024, 12544)
    assert tuple(sd["roi_head.bbox_head.2.fc_cls.weight"].shape) == (81, 1024)
    assert tuple(sd["roi_head.bbox_head.2.fc_reg.weight"].shape) == (4, 1024)
    assert tuple(sd["roi_head.mask_head.1.conv_logits.weight"].shape) == (80, 256, 1, 1)


def _v2_checkpoint(model, path):
    meta = dict(
        mmcv_version="1.0.4",
        time="Mon Mar 16 21:47:48 2020",
        epoch=12,
        iter=87960,
        CLASSES=("person", "bicycle"),
        config="model = dict(type='CascadeRCNN')",
    )
    state = {k: torch.randn(v.shape) if v.is_floating_point() else v.clone() for k, v in model.state_dict().items()}
    torch.save(dict(meta=meta, state_dict=state), path)
    return state


def test_v2_checkpoint_loads_strictly(tmp_path):
    model = build_full("cascade-rcnn_r50_fpn_1x_coco", device="cpu")
    state = _v2_checkpoint(model, tmp_path / "ckpt.pth")
    meta = load_checkpoint(model, str(tmp_path / "ckpt.pth"), strict=True)
    assert meta["classes"] == ("person", "bicycle")
    key = "roi_head.bbox_head.2.fc_cls.weight"
    assert torch.equal(model.state_dict()[key], state[key])


def test_mismatch_lists_missing_unexpected_and_wrong_shapes(tmp_path):
    model = build_full("cascade-rcnn_r50_fpn_1x_coco", device="cpu")
    state = {k: v.clone() for k, v in model.state_dict().items()}
    del state["rpn_head.rpn_cls.bias"]
    state["roi_head.bbox_head.3.fc_cls.weight"] = torch.zeros(2)
    state["roi_head.bbox_head.0.fc_cls.weight"] = torch.zeros(11, 1024)
    torch.save(dict(state_dict=state), tmp_path / "bad.pth")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(model, str(tmp_path / "bad.pth"))
    text = str(err.value)
    assert "rpn_head.rpn_cls.bias" in text and "bbox_head.3.fc_cls.weight" in text
    assert "(11, 1024)" in text and "(81, 1024)" in text


def test_pickled_code_is_refused(tmp_path):
    import argparse

    torch.save(dict(state_dict={}, meta=dict(obj=argparse.Namespace(cmd="echo"))), tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="refused"):
        load_checkpoint(torch.nn.Linear(1, 1), str(tmp_path / "evil.pth"))


def test_class_names_from_newer_meta():
    assert class_names_from_meta(dict(meta=dict(dataset_meta=dict(classes=["a", "b"])))) == ("a", "b")
    assert class_names_from_meta(dict(meta={})) is None
