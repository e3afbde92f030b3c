"""The heads' MMDetection-facing methods, called with MMDetection's signatures: the RPN's
``loss_by_feat(cls_scores, bbox_preds, batch_gt_instances, batch_img_metas,
batch_gt_instances_ignore)`` and ``predict_by_feat(..., batch_img_metas=, cfg=, rescale=)``, the box
head's ``predict_by_feat`` (with and without NMS, class-specific and agnostic) and
``refine_bboxes``, the mask head's ``predict_by_feat(..., rescale, activate_map)``. Every output is
pinned to MMDetection 3.3.0's on the same inputs (``tests/data/mmdet_head_api.json.gz``)."""

import gzip
import json
import os
import types

import numpy as np
import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import InstanceData

from mmcascade.models.roi_heads.bbox_heads import BBoxTargets
from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample, unpack_gt_instances

from helpers import DATA, REPO

with gzip.open(os.path.join(DATA, "mmdet_head_api.json.gz"), "rt") as f:
    MMDET = json.load(f)

GEN = dict(type="AnchorGenerator", scales=[8], ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64])
RPN_TEST = dict(nms_pre=300, max_per_img=100, nms=dict(type="nms", iou_threshold=0.7), min_bbox_size=0)
RPN = dict(
    type="RPNHead",
    in_channels=4,
    feat_channels=4,
    anchor_generator=GEN,
    bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[1.0] * 4),
    loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
    loss_bbox=dict(type="SmoothL1Loss", beta=1.0 / 9.0, loss_weight=1.0),
    train_cfg=dict(
        assigner=dict(
            type="MaxIoUAssigner",
            pos_iou_thr=0.7,
            neg_iou_thr=0.3,
            min_pos_iou=0.3,
            match_low_quality=True,
            ignore_iof_thr=-1,
        ),
        sampler=dict(type="RandomSampler", num=256, pos_fraction=0.5, neg_pos_ub=-1, add_gt_as_proposals=False),
        allowed_border=-1,
        pos_weight=-1,
        debug=False,
    ),
    test_cfg=RPN_TEST,
)
SIZES = [(16, 24), (8, 12), (4, 6), (2, 3), (1, 2)]
METAS = [
    dict(
        img_shape=(60, 90), pad_shape=(64, 96), batch_input_shape=(64, 96), scale_factor=(1.5, 1.25), ori_shape=(48, 60)
    ),
    dict(
        img_shape=(64, 80), pad_shape=(64, 80), batch_input_shape=(64, 96), scale_factor=(2.0, 2.0), ori_shape=(32, 40)
    ),
]
RCNN_TEST = dict(score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5), max_per_img=100, mask_thr_binary=0.5)


def inputs() -> dict:
    """The inputs given to both toolboxes (the same generator calls, in this order)."""
    g = torch.Generator().manual_seed(0)
    cls = [torch.randn(2, 3, h, w, generator=g) for h, w in SIZES]
    reg = [torch.randn(2, 12, h, w, generator=g) * 0.2 for h, w in SIZES]
    gts = [
        InstanceData(
            bboxes=torch.tensor([[10.0, 12.0, 40.0, 50.0], [50.0, 5.0, 85.0, 30.0]]), labels=torch.tensor([0, 0])
        ),
        InstanceData(bboxes=torch.tensor([[3.0, 3.0, 20.0, 60.0]]), labels=torch.tensor([0])),
    ]
    ignored = [InstanceData(bboxes=torch.tensor([[60.0, 40.0, 80.0, 58.0]])), InstanceData(bboxes=torch.zeros(0, 4))]
    rois = []
    for i in range(2):
        xy = torch.rand(6, 2, generator=g) * 40
        wh = torch.rand(6, 2, generator=g) * 30 + 4
        rois.append(torch.cat([torch.full((6, 1), float(i)), xy, xy + wh], 1))
    cls_scores = [torch.randn(6, 4, generator=g) * 2 for _ in range(2)]
    bbox_preds = [torch.randn(6, 12, generator=g) * 0.3 for _ in range(2)]
    mask_preds = [torch.randn(3, 3, 28, 28, generator=g) * 3 for _ in range(2)]
    dets = [
        InstanceData(
            bboxes=torch.tensor([[5.0, 6.0, 30.0, 40.0], [40.0, 10.0, 88.0, 59.0], [0.0, 0.0, 9.0, 9.0]]),
            scores=torch.tensor([0.9, 0.8, 0.3]),
            labels=torch.tensor([0, 2, 1]),
        ),
        InstanceData(
            bboxes=torch.tensor([[1.0, 2.0, 70.0, 63.0], [20.0, 20.0, 21.5, 30.0], [33.0, 3.0, 60.0, 13.0]]),
            scores=torch.tensor([0.7, 0.6, 0.5]),
            labels=torch.tensor([1, 1, 0]),
        ),
    ]
    return dict(
        cls=cls, reg=reg, gts=gts, ignored=ignored, rois=rois, cls_scores=cls_scores, bbox_preds=bbox_preds,
        mask_preds=mask_preds, dets=dets,
    )  # fmt: skip


def _equal(ours: torch.Tensor, theirs: list) -> bool:
    return np.array_equal(ours.numpy().astype(float), np.array(theirs, dtype=float).reshape(ours.shape))


def test_rpn_loss_by_feat_takes_mmdetections_arguments_and_gives_its_losses():
    x = inputs()
    rpn = MODELS.build(RPN)
    torch.manual_seed(7)
    losses = rpn.loss_by_feat(x["cls"], x["reg"], x["gts"], METAS, x["ignored"])
    expected = MMDET["rpn_loss"]
    # MMDetection sums one mean per FPN level; here one sum over all levels: rounding apart
    assert losses["loss_rpn_cls"].item() == pytest.approx(expected["loss_rpn_cls"], rel=1e-6)
    assert losses["loss_rpn_bbox"].item() == pytest.approx(expected["loss_rpn_bbox"], rel=1e-6)
    # the data-sample form the detector uses gives the same
    samples = []
    for gt, ign, meta in zip(x["gts"], x["ignored"], METAS):
        s = DetDataSample(metainfo=meta)
        s.gt_instances, s.ignored_instances = gt, ign
        samples.append(s)
    assert unpack_gt_instances(samples)[2] == [s.metainfo for s in samples]
    torch.manual_seed(7)
    again = rpn.loss_by_feat(x["cls"], x["reg"], *[unpack_gt_instances(samples)[i] for i in (0, 2, 1)])
    assert again["loss_rpn_cls"].item() == losses["loss_rpn_cls"].item()


@pytest.mark.parametrize("rescale", [False, True])
def test_rpn_predict_by_feat_matches_mmdetection(rescale):
    x = inputs()
    rpn = MODELS.build(RPN)
    props = rpn.predict_by_feat(x["cls"], x["reg"], batch_img_metas=METAS, cfg=ConfigDict(RPN_TEST), rescale=rescale)
    for ours, theirs in zip(props, MMDET[f"rpn_props_{rescale}"]):
        assert _equal(ours.bboxes, theirs["bboxes"]) and _equal(ours.scores, theirs["scores"])
    with pytest.raises(ValueError, match="with_nms must be True"):
        rpn.predict_by_feat(x["cls"], x["reg"], batch_img_metas=METAS, with_nms=False)
    with pytest.raises(ValueError, match="score_factors must be None"):
        rpn.predict_by_feat(x["cls"], x["reg"], x["cls"], METAS)


def _bbox_head(agnostic: bool):
    coder = dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2])
    return MODELS.build(
        dict(
            type="Shared2FCBBoxHead",
            in_channels=4,
            fc_out_channels=8,
            roi_feat_size=2,
            num_classes=3,
            bbox_coder=coder,
            reg_class_agnostic=agnostic,
        )
    )


@pytest.mark.parametrize("agnostic", [False, True])
@pytest.mark.parametrize("with_cfg", [False, True])
@pytest.mark.parametrize("rescale", [False, True])
def test_bbox_head_predict_by_feat_matches_mmdetection(agnostic, with_cfg, rescale):
    x = inputs()
    preds = [b[:, :4] for b in x["bbox_preds"]] if agnostic else x["bbox_preds"]
    cfg = ConfigDict(RCNN_TEST) if with_cfg else None
    head = _bbox_head(agnostic)
    results = head.predict_by_feat(tuple(x["rois"]), tuple(x["cls_scores"]), tuple(preds), METAS, cfg, rescale)
    for ours, theirs in zip(results, MMDET[f"bbox_{agnostic}_{with_cfg}_{rescale}"]):
        assert set(ours.keys()) == set(theirs)
        for key in theirs:
            assert _equal(ours.get(key), theirs[key]), key


@pytest.mark.parametrize("agnostic", [False, True])
def test_bbox_head_refine_bboxes_matches_mmdetection(agnostic):
    x = inputs()
    preds = torch.cat([b[:, :4] for b in x["bbox_preds"]] if agnostic else x["bbox_preds"])
    labels = torch.tensor([0, 3, 1, 3, 2, 0, 3, 3, 1, 0, 2, 3])  # 3: background
    sampled = [
        types.SimpleNamespace(pos_is_gt=torch.tensor([1, 0], dtype=torch.uint8)),
        types.SimpleNamespace(pos_is_gt=torch.tensor([0, 0, 1], dtype=torch.uint8)),
    ]
    zeros = torch.zeros(12, 4)
    head = _bbox_head(agnostic)
    for targets in (BBoxTargets(labels, torch.ones(12), zeros, zeros, zeros), (labels, torch.ones(12), zeros, zeros)):
        bbox_results = dict(
            rois=torch.cat(x["rois"]), cls_score=torch.cat(x["cls_scores"]), bbox_pred=preds, bbox_targets=targets
        )
        refined = head.refine_bboxes(sampled, bbox_results, METAS)
        expected = MMDET[f"refine_{agnostic}"]
        assert [len(r) for r in refined] == [5, 5]  # each image's sampled ground truth left out
        assert all(_equal(r.bboxes, e) for r, e in zip(refined, expected))


@pytest.mark.parametrize("rescale", [False, True])
@pytest.mark.parametrize("activate_map", [False, True])
def test_mask_head_predict_by_feat_matches_mmdetection(rescale, activate_map):
    x = inputs()
    head = MODELS.build(dict(type="FCNMaskHead", num_convs=1, in_channels=4, conv_out_channels=4, num_classes=3))
    preds = tuple(p.sigmoid() if activate_map else p for p in x["mask_preds"])
    results = head.predict_by_feat(preds, x["dets"], METAS, ConfigDict(RCNN_TEST), rescale, activate_map)
    for ours, theirs, meta in zip(results, MMDET[f"mask_{rescale}_{activate_map}"], METAS):
        assert _equal(ours.bboxes, theirs["bboxes"]) and ours.labels.tolist() == theirs["labels"]
        assert ours.masks.dtype == torch.bool
        assert _equal(ours.masks.to(torch.uint8), theirs["masks"])
        h, w = meta["ori_shape"]
        assert ours.masks.shape[1:] == (
            (h, w) if rescale else (round(h * meta["scale_factor"][1]), round(w * meta["scale_factor"][0]))
        )


def test_with_flags_as_mmdetection_names_them():
    cfg = Config.fromfile(os.path.join(REPO, "configs/cascade_rcnn/cascade_mask_rcnn_r50_fpn_1x_coco.py"))
    model = MODELS.build(cfg.model)
    assert model.with_rpn and model.with_roi_head and model.with_neck and model.with_bbox and model.with_mask
    assert not model.with_shared_head
    assert model.roi_head.with_bbox and model.roi_head.with_mask and not model.roi_head.with_shared_head
