"""The cascade beside the R-CNN family members it combines with, PAFPN (``configs/pafpn``) and the
GIoU loss (``configs/iou_loss``; Libra R-CNN and OHEM have their own tests): each pair builds from
its ``_base_`` configs with the part in every cascade stage, and trains a step (ResNet-18 variants,
one small image)."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample

from helpers import REPO

PAIRS = {
    "pafpn": ("cascade_rcnn_r50_pafpn_1x_coco", "faster_rcnn_r50_pafpn_1x_coco"),
    "iou_loss": ("cascade_rcnn_r50_fpn_giou_1x_coco", "faster_rcnn_r50_fpn_giou_1x_coco"),
}


@pytest.mark.parametrize("folder, name", [(f, n) for f, names in PAIRS.items() for n in names])
def test_family_pair_builds_and_trains(folder, name):
    cfg = Config.fromfile(os.path.join(REPO, "configs", folder, f"{name}.py"))
    cfg.model.backbone.update(init_cfg=None, depth=18)
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    model = MODELS.build(cfg.model)
    heads = [model.roi_head.stage_bbox_head(s) for s in range(model.roi_head.num_stages)]
    if folder == "pafpn":
        assert type(model.neck).__name__ == "PAFPN"
    else:
        assert all(h.reg_decoded_bbox and type(h.loss_bbox).__name__ == "GIoULoss" for h in heads)
        assert all(h.loss_bbox.loss_weight == 10.0 for h in heads)
    assert len(heads) == (3 if name.startswith("cascade") else 1)
    torch.manual_seed(0)
    model.init_weights()
    sample = DetDataSample(metainfo=dict(img_shape=(96, 128), pad_shape=(96, 128), batch_input_shape=(96, 128)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 10.0, 60.0, 80.0]]), labels=torch.tensor([7]))
    losses = model.loss(torch.randn(1, 3, 96, 128), [sample])
    regression = [v for k, v in losses.items() if k.endswith("loss_bbox")]
    assert len(regression) == len(heads) and all(torch.isfinite(v) for v in regression)
