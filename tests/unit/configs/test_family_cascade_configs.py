"""The cascade beside the R-CNN family members it combines with, PAFPN (``configs/pafpn``), the
GIoU loss (``configs/iou_loss``) and the C4 head (``configs/c4``; Libra R-CNN and OHEM have their own
tests): each pair builds from its ``_base_`` configs with the part in every cascade stage, and
trains a step (ResNet-18 variants, one small image); the C4 models also predict."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmcascade.registry import MODELS
from mmcascade.structures import BitmapMasks, DetDataSample

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


C4 = [
    "faster_rcnn_r50_caffe_c4_1x_coco",
    "cascade_rcnn_r50_caffe_c4_1x_coco",
    "mask_rcnn_r50_caffe_c4_1x_coco",
    "cascade_mask_rcnn_r50_caffe_c4_1x_coco",
]


@pytest.mark.parametrize("name", C4)
def test_c4_models_train_and_predict(name):
    """RPN and pooling on res4 alone (no neck), the one shared res5 (``roi_head.shared_head.layer4``)
    before every stage's box head, and the mask heads on the box extractor's features."""
    cfg = Config.fromfile(os.path.join(REPO, "configs", "c4", f"{name}.py"))
    cfg.model.backbone.update(init_cfg=None, depth=18)
    roi = cfg.model.roi_head
    cfg.model.rpn_head.update(in_channels=256, feat_channels=256)
    roi.shared_head.depth = 18
    roi.bbox_roi_extractor.out_channels = 256
    for key in ("bbox_head", "mask_head"):
        heads = roi.get(key) or []
        for head in heads if isinstance(heads, list) else [heads]:
            head.in_channels = 512
    cfg.model.train_cfg.rpn_proposal.max_per_img = cfg.model.test_cfg.rpn.max_per_img = 64  # a quick step
    model = MODELS.build(cfg.model)
    assert "neck" not in dict(model.named_children())
    assert any(k.startswith("roi_head.shared_head.layer4.0.") for k in model.state_dict())
    assert model.roi_head.share_roi_extractor == ("mask" in name)
    torch.manual_seed(0)
    model.init_weights()
    meta = dict(img_shape=(96, 128), pad_shape=(96, 128), batch_input_shape=(96, 128))
    sample = DetDataSample(metainfo=dict(meta, ori_shape=(96, 128), scale_factor=(1.0, 1.0)))
    masks = torch.zeros(1, 96, 128, dtype=torch.uint8)
    masks[0, 10:80, 10:60] = 1
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[10.0, 10.0, 60.0, 80.0]]),
        labels=torch.tensor([7]),
        masks=BitmapMasks(masks.numpy(), 96, 128),
    )
    image = torch.randn(1, 3, 96, 128)
    losses = model.loss(image, [sample])
    assert {"loss_rpn_cls", "loss_rpn_bbox"} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert sum(k.endswith("loss_mask") for k in losses) == ("mask" in name) * (3 if "cascade" in name else 1)
    model.eval()
    with torch.no_grad():
        det = model.predict(image, [sample])[0].pred_instances
    assert det.bboxes.shape[1] == 4 and len(det.bboxes) == len(det.scores) <= 100
    if "mask" in name:
        assert det.masks.shape[1:] == (96, 128)
