"""Crowd regions (``ignored_instances``) reach every R-CNN stage's assigner as they reach the RPN's,
as in MMDetection's CascadeRoIHead; and the assigner and sampler take MMDetection's call
(``InstanceData``) as well as tensors."""

import torch
from mmengine.structures import InstanceData

from mmcascade.registry import MODELS, TASK_UTILS

from helpers import tiny_model_cfg


def _assigner(ignore_iof_thr: float = 0.5):
    cfg = dict(type="MaxIoUAssigner", pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5, ignore_iof_thr=ignore_iof_thr)
    return TASK_UTILS.build(cfg)


def test_assigner_takes_mmdets_call_and_tensors_alike():
    priors = torch.tensor([[10.0, 10, 30, 30], [60, 60, 90, 90], [100, 100, 120, 120]])
    gt = InstanceData(bboxes=torch.tensor([[60.0, 60, 90, 90]]), labels=torch.tensor([2]))
    ignored = InstanceData(bboxes=torch.tensor([[5.0, 5, 40, 40]]), labels=torch.tensor([0]))
    a = _assigner().assign(InstanceData(priors=priors), gt, ignored)
    b = _assigner().assign(priors, gt.bboxes, gt.labels, ignored.bboxes)
    assert a.gt_inds.tolist() == b.gt_inds.tolist() == [-1, 1, 0]  # ignored, positive, negative
    sampler = TASK_UTILS.build(dict(type="RandomSampler", num=8, pos_fraction=0.5, add_gt_as_proposals=False))
    res = sampler.sample(a, InstanceData(priors=priors), gt)
    assert res.pos_inds.tolist() == [1] and res.neg_inds.tolist() == [2]


def test_every_cascade_stage_ignores_boxes_over_crowd_regions():
    cfg = tiny_model_cfg("cascade-rcnn_r50_fpn")
    for stage in cfg["train_cfg"]["rcnn"]:
        stage["assigner"].update(ignore_iof_thr=0.5)
        stage["sampler"].update(add_gt_as_proposals=False)
    model = MODELS.build(cfg)
    model.init_weights()
    feats = tuple(torch.randn(1, 16, 64 // s, 64 // s) for s in (4, 8, 16, 32, 64))
    proposals = [torch.tensor([[10.0, 10, 30, 30], [40, 40, 60, 60], [2, 40, 20, 60]])]
    gt = InstanceData(bboxes=torch.tensor([[40.0, 40, 60, 60]]), labels=torch.tensor([1]))
    ignored = InstanceData(bboxes=torch.tensor([[5.0, 5, 35, 35]]), labels=torch.tensor([0]))
    metas = [dict(img_shape=(64, 64))]
    roi_head = model.roi_head
    records = roi_head.run_stages(roi_head.pooling_layout(feats), proposals, metas, [gt], [ignored])
    first = records[0].samples[0]
    assert first.pos_inds.tolist() == [1] and first.neg_inds.tolist() == [2]  # box 0 lies in the crowd region
    without = roi_head.run_stages(roi_head.pooling_layout(feats), proposals, metas, [gt])
    assert sorted(without[0].samples[0].neg_inds.tolist()) == [0, 2]
