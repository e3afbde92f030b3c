"""Shared fixtures: registry scope, tiny model configs, a small generated dataset."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmcascade.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
register_all_modules()


def tiny_model_cfg(base: str = "cascade-mask-rcnn_r50_fpn", num_classes: int = 3) -> dict:
    """A published base model shrunk to ResNet-18 layout at width 8 (fast on CPU)."""
    cfg = Config.fromfile(osp.join(REPO, "configs/_base_/models", f"{base}.py")).model
    cfg.backbone.update(depth=18, base_channels=8, init_cfg=None)
    cfg.neck.update(in_channels=[8, 16, 32, 64], out_channels=16)
    cfg.rpn_head.update(in_channels=16, feat_channels=16)
    roi = cfg.roi_head
    heads = roi.bbox_head if isinstance(roi.bbox_head, list) else [roi.bbox_head]
    for h in heads:
        h.update(num_classes=num_classes, in_channels=16, fc_out_channels=32)
    roi.bbox_roi_extractor.out_channels = 16
    if "mask_head" in roi:
        masks = roi.mask_head if isinstance(roi.mask_head, list) else [roi.mask_head]
        for h in masks:
            h.update(num_classes=num_classes, in_channels=16, conv_out_channels=16)
        roi.mask_roi_extractor.out_channels = 16
    return cfg.to_dict()


@pytest.fixture
def seeded():
    torch.manual_seed(0)
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)


def pytest_configure(config):
    from mmengine.logging import MMLogger

    MMLogger.get_instance("mmengine", log_level="WARNING").setLevel("WARNING")


@pytest.fixture
def file_server():
    """A local HTTP file server on 127.0.0.1 (tests/http_fixtures.py), shut down afterwards."""
    from http_fixtures import FileServer
    server = FileServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """The tiny embedded config trained for 2 epochs once per session by ``tools/train.py``:
    ``dict(cfg=config path, work=work dir, ckpt=last checkpoint, log=train output)``. Tests that
    only need a trained model share it instead of training again."""
    from e2e_helpers import run_tool, tiny_embedded_cfg
    tmp = tmp_path_factory.mktemp("trained_tiny")
    cfg = tiny_embedded_cfg(tmp, epochs=2)
    work = tmp / "work"
    proc = run_tool("tools/train.py", cfg, "--work-dir", str(work))
    return dict(cfg=cfg, work=work, ckpt=work / "epoch_2.pth", log=proc.stdout + proc.stderr)
