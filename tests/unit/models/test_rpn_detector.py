"""The ``RPN`` detector (``configs/rpn``): MMDetection's checkpoint keys (the head as
``bbox_head``), a two-stage checkpoint's ``rpn_head`` loading into it, training losses, and
proposals equal to MMDetection 3.3.0's on the same weights (a ResNet-18 variant of the config,
seeded weights, one 96x128 input of a 60x80 image); ``FastRCNN`` (``configs/fast_rcnn``) trains on
given proposals and refuses a batch without them."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample

from helpers import REPO

# MMDetection 3.3.0, same weights and input: 807 proposals (original-image pixels)
MMDET_COUNT = 807
MMDET_FIRST = [
    [35.2136, 22.284, 63.6623, 60.0],
    [45.3419, 20.991, 73.9559, 60.0],
    [0.0, 4.6792, 12.9035, 25.2172],
    [67.8323, 15.8311, 80.0, 44.8985],
]
MMDET_FIRST_SCORES = [0.516733, 0.515107, 0.514803, 0.514707]
MMDET_BOX_SUM, MMDET_SCORE_SUM = 110299.51465761662, 405.3001124858856


def _rpn() -> torch.nn.Module:
    cfg = Config.fromfile(os.path.join(REPO, "configs/rpn/rpn_r50_fpn_1x_coco.py"))
    cfg.model.backbone.update(init_cfg=None, depth=18)
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    model.init_weights()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model


def _sample(**extra) -> DetDataSample:
    meta = dict(img_shape=(96, 128), ori_shape=(60, 80), scale_factor=(1.6, 1.6), pad_shape=(96, 128))
    return DetDataSample(metainfo=dict(meta, batch_input_shape=(96, 128)), **extra)


def test_rpn_proposals_match_mmdetection():
    model = _rpn().eval()
    assert all(k.startswith(("backbone.", "neck.", "bbox_head.")) for k in model.state_dict())
    image = (torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(1)) * 255)[0].byte()
    data = model.data_preprocessor(dict(inputs=[image], data_samples=[_sample()]), False)
    with torch.no_grad():
        pred = model.predict(data["inputs"], data["data_samples"])[0].pred_instances
    assert len(pred) == MMDET_COUNT and pred.labels.unique().tolist() == [0]
    # mmcascade folds BatchNorm into the convolutions at inference: rounding apart
    assert pred.bboxes[:4].flatten().tolist() == pytest.approx(sum(MMDET_FIRST, []), abs=1e-3)
    assert pred.scores[:4].tolist() == pytest.approx(MMDET_FIRST_SCORES, abs=1e-5)
    assert pred.bboxes.sum().item() == pytest.approx(MMDET_BOX_SUM, rel=1e-5)
    assert pred.scores.sum().item() == pytest.approx(MMDET_SCORE_SUM, rel=1e-5)


def test_a_two_stage_checkpoint_loads_into_the_rpn_and_it_trains():
    model = _rpn()
    state = {("rpn_head." + k[len("bbox_head.") :] if k.startswith("bbox_head.") else k): v.clone()
             for k, v in model.state_dict().items()}  # fmt: skip
    state["rpn_head.rpn_cls.weight"] += 0.5
    state["roi_head.bbox_head.fc_cls.weight"] = torch.zeros(3)  # a detector's other heads are left out
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert not missing and unexpected == ["roi_head.bbox_head.fc_cls.weight"]
    assert torch.equal(model.bbox_head.rpn_cls.weight, state["rpn_head.rpn_cls.weight"])
    model.train()
    gt = InstanceData(bboxes=torch.tensor([[10.0, 10.0, 60.0, 80.0]]), labels=torch.tensor([7]))
    losses = model.loss(torch.randn(1, 3, 96, 128), [_sample(gt_instances=gt)])
    assert set(losses) == {"loss_rpn_cls", "loss_rpn_bbox"} and all(torch.isfinite(v) for v in losses.values())


def test_fast_rcnn_trains_on_given_proposals():
    cfg = Config.fromfile(os.path.join(REPO, "configs/fast_rcnn/fast_rcnn_r50_fpn_1x_coco.py"))
    cfg.model.backbone.update(init_cfg=None, depth=18)
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    model = MODELS.build(cfg.model)
    assert not model.with_rpn and model.with_roi_head
    gt = InstanceData(bboxes=torch.tensor([[10.0, 10.0, 60.0, 80.0]]), labels=torch.tensor([7]))
    proposals = InstanceData(bboxes=torch.tensor([[12.0, 8.0, 58.0, 79.0], [0.0, 0.0, 30.0, 30.0]]))
    torch.manual_seed(0)
    losses = model.loss(torch.randn(1, 3, 96, 128), [_sample(gt_instances=gt, proposals=proposals)])
    assert {"loss_cls", "loss_bbox", "acc"} <= set(losses) and "loss_rpn_cls" not in losses
    with pytest.raises(KeyError, match="has none .LoadProposals and the dataset's proposal_file"):
        model.loss(torch.randn(1, 3, 96, 128), [_sample(gt_instances=gt)])
