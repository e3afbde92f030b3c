"""Helpers of the test suite: paths, small configs and models, generated datasets, servers.

Test modules import them as ``from helpers import REPO`` or ``from helpers.e2e import run_tool``
(``tests/`` is on ``sys.path``: pyproject's ``pythonpath``)."""

import os.path as osp

from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
"""The repository root."""
DATA = osp.join(REPO, "tests", "data")
"""Small files the tests ship (reference key sets, zoo-page facts)."""


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


__all__ = ["DATA", "REPO", "tiny_model_cfg"]
