"""Online hard example mining (``OHEMSampler``) in Faster R-CNN and in every Cascade R-CNN stage
(``configs/ohem``): with more candidates than the sampler keeps (240 positives, 900 others), the
RoI head's losses equal MMDetection 3.3.0's on the same weights, features and proposals (its
``faster-rcnn_r50_fpn_ohem_1x_coco.py``, and its cascade config with every stage's sampler
switched to OHEM; ResNet-18 variants), so the same hardest RoIs were kept."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmcascade.models.task_modules.assigners import AssignResult
from mmcascade.registry import MODELS, TASK_UTILS
from mmcascade.structures import DetDataSample

from helpers import REPO

MMDET = {
    "faster_rcnn_r50_fpn_ohem_1x_coco": {"loss_cls": 11.563460350036621, "acc": 0.0, "loss_bbox": 2.376563310623169},
    "cascade_rcnn_r50_fpn_ohem_1x_coco": {
        "s0.loss_cls": 6.234274387359619, "s0.acc": 0.0, "s0.loss_bbox": 2.462218761444092,
        "s1.loss_cls": 4.220084190368652, "s1.acc": 0.0, "s1.loss_bbox": 0.02164326421916485,
        "s2.loss_cls": 2.4868617057800293, "s2.acc": 0.0, "s2.loss_bbox": 0.005947125144302845,
    },
}  # fmt: skip


def _inputs():
    g = torch.Generator().manual_seed(0)
    image = torch.randn(1, 3, 128, 160, generator=g)
    gts = torch.tensor([[10.0, 12.0, 60.0, 70.0], [70.0, 20.0, 150.0, 110.0], [30.0, 80.0, 90.0, 125.0]])
    near = [b + torch.randn(4, generator=g) * 5 for b in gts for _ in range(80)]  # 240 around the objects
    xy = torch.rand(900, 2, generator=g) * torch.tensor([140.0, 110.0])
    wh = torch.rand(900, 2, generator=g) * 40 + 5
    proposals = torch.cat([torch.stack(near), torch.cat([xy, xy + wh], 1)])
    proposals[:, 0::2] = proposals[:, 0::2].clamp(0, 160)
    proposals[:, 1::2] = proposals[:, 1::2].clamp(0, 128)
    sample = DetDataSample(metainfo=dict(img_shape=(128, 160), pad_shape=(128, 160), batch_input_shape=(128, 160)))
    sample.gt_instances = InstanceData(bboxes=gts, labels=torch.tensor([3, 17, 3]))
    return image, sample, InstanceData(bboxes=proposals)


@pytest.mark.parametrize("name", sorted(MMDET))
def test_ohem_losses_match_mmdetection(name):
    cfg = Config.fromfile(os.path.join(REPO, "configs", "ohem", f"{name}.py"))
    cfg.model.backbone.update(init_cfg=None, depth=18)
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    model = MODELS.build(cfg.model)
    assigners = model.roi_head.bbox_assigner  # MMDetection's attributes: one per stage in a cascade
    thresholds = [a.pos_iou_thr for a in assigners] if isinstance(assigners, list) else [assigners.pos_iou_thr]
    assert thresholds == ([0.5, 0.6, 0.7] if name.startswith("cascade") else [0.5])
    samplers = model.roi_head.bbox_sampler
    assert {type(s).__name__ for s in (samplers if isinstance(samplers, list) else [samplers])} == {"OHEMSampler"}
    torch.manual_seed(0)
    model.init_weights()
    for p in model.roi_head.parameters():
        torch.nn.init.normal_(p, std=0.05)
    model.train()
    image, sample, proposals = _inputs()
    feats = model.roi_feature_layout(model.extract_feat(image))
    torch.manual_seed(3)
    losses = model.roi_head.loss(feats, [proposals], [sample])
    assert {k: float(v) for k, v in losses.items()} == pytest.approx(MMDET[name], rel=1e-6)


def test_ohem_refuses_other_losses_and_needs_the_head():
    with pytest.raises(ValueError, match="loss_key must be 'loss_cls'"):
        TASK_UTILS.build(dict(type="OHEMSampler", num=8, pos_fraction=0.25, loss_key="loss_bbox"))
    sampler = TASK_UTILS.build(dict(type="OHEMSampler", num=2, pos_fraction=0.5, add_gt_as_proposals=False))
    assign = AssignResult(
        num_gts=1,
        gt_inds=torch.tensor([1, 1, 1, 0]),
        max_overlaps=torch.ones(4),
        labels=torch.zeros(4, dtype=torch.long),
    )
    with pytest.raises(RuntimeError, match="needs the RoI head"):
        sampler.sample(assign, torch.rand(4, 4), torch.rand(1, 4), torch.tensor([0]))
