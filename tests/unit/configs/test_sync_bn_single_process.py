"""``MMSyncBN`` in one process. MMDetection's large-scale-jitter configs normalise with mmcv's
synchronised BatchNorm, which mmcv builds only inside a process group: in one process MMDetection
3.3.0 stops at ``Default process group has not been initialized``. One process's statistics are
all there are, so mmcascade builds it as BN there (tools with ``--launcher none``, the inference
API), with the same checkpoint keys; distributed launches keep MMSyncBN."""

import os

import torch

from mmcascade.apis import init_detector
from mmcascade.config.loading import load_tool_config
from mmcascade.config.sync_bn import single_process_norms
from mmcascade.registry import MODELS

from helpers import REPO

BASE = os.path.join(REPO, "configs", "cascade_rcnn", "cascade_rcnn_r50_fpn_1x_coco.py")


def _config(tmp_path) -> str:
    path = tmp_path / "syncbn.py"
    path.write_text(
        f"_base_ = [{BASE!r}]\n"
        "norm_cfg = dict(type='MMSyncBN', requires_grad=True)\n"
        "model = dict(backbone=dict(norm_cfg=norm_cfg, norm_eval=False),\n"
        "             roi_head=dict(bbox_head=[dict(type='Shared4Conv1FCBBoxHead', norm_cfg=norm_cfg)] * 3))\n"
    )
    return str(path)


def test_single_process_tools_build_mmsyncbn_as_bn(tmp_path):
    cfg = load_tool_config(_config(tmp_path), launcher="none")
    assert cfg.model.backbone.norm_cfg.type == "BN"
    assert all(h.norm_cfg.type == "BN" for h in cfg.model.roi_head.bbox_head)
    model = MODELS.build(cfg.model)
    assert isinstance(model.backbone.bn1, torch.nn.BatchNorm2d)
    # the keys of a checkpoint trained with MMSyncBN: the same parameters and buffers as BN
    keys = model.state_dict().keys()
    assert {"backbone.bn1.running_mean", "backbone.bn1.num_batches_tracked"} <= keys
    assert "roi_head.bbox_head.0.shared_convs.0.bn.weight" in keys


def test_distributed_launches_keep_mmsyncbn(tmp_path, monkeypatch):
    for var, value in dict(
        RANK="0", WORLD_SIZE="2", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT="29500"
    ).items():
        monkeypatch.setenv(var, value)
    cfg = load_tool_config(_config(tmp_path), launcher="pytorch")
    assert cfg.model.backbone.norm_cfg.type == "MMSyncBN"


def test_inference_api_builds_an_mmsyncbn_config(tmp_path):
    model = init_detector(_config(tmp_path), None, device="cpu")
    assert isinstance(model.backbone.bn1, torch.nn.BatchNorm2d)


def test_paths_changed_are_named():
    cfg = dict(backbone=dict(norm_cfg=dict(type="MMSyncBN")), heads=[dict(norm_cfg=dict(type="GN", num_groups=2))])
    assert single_process_norms(cfg) == ["model.backbone.norm_cfg"]
    assert cfg["backbone"]["norm_cfg"] == dict(type="BN")
    assert single_process_norms(cfg) == []  # nothing left to change
