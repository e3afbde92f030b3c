"""Assignment at each cascade threshold, sampling, anchors."""

import math

import pytest
import torch

from mmcascade.models.task_modules import AnchorGenerator, MaxIoUAssigner, RandomSampler

from helpers.boxes import GT, PROPOSALS


@pytest.mark.parametrize(
    "thr, expected",
    [
        (0.5, [1, 1, 1, 0, 0]),
        (0.6, [0, 1, 1, 0, 0]),
        (0.7, [0, 0, 1, 0, 0]),
    ],
)
def test_stage_assignment_at_exact_thresholds(thr, expected):
    assigner = MaxIoUAssigner(pos_iou_thr=thr, neg_iou_thr=thr, min_pos_iou=thr, match_low_quality=False)
    result = assigner.assign(PROPOSALS, GT, torch.tensor([2]))
    assert result.gt_inds.tolist() == expected
    assert result.labels.tolist() == [2 if e else -1 for e in expected]
    assert result.max_overlaps.tolist() == pytest.approx([0.5, 0.6, 0.7, 0.4, 0.0])


def test_rpn_assignment_ignore_band_and_low_quality():
    assigner = MaxIoUAssigner(pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3, match_low_quality=True)
    # best IoU of the gt is 0.6 < 0.7: the low-quality rule still makes that box positive.
    props = PROPOSALS[[0, 1, 3, 4]]
    result = assigner.assign(props, GT, torch.tensor([0]))
    assert result.gt_inds.tolist() == [-1, 1, -1, 0]


def test_assignment_without_gt_or_boxes():
    assigner = MaxIoUAssigner(0.5, 0.5)
    res = assigner.assign(PROPOSALS, torch.zeros((0, 4)), torch.zeros((0,), dtype=torch.long))
    assert res.gt_inds.tolist() == [0] * 5 and res.labels.tolist() == [-1] * 5
    res = assigner.assign(torch.zeros((0, 4)), GT, torch.tensor([1]))
    assert res.gt_inds.numel() == 0


def test_ignore_regions_by_iof():
    assigner = MaxIoUAssigner(0.5, 0.5, ignore_iof_thr=0.5)
    res = assigner.assign(PROPOSALS, GT, torch.tensor([0]), gt_bboxes_ignore=torch.tensor([[45.0, 45, 70, 70]]))
    assert res.gt_inds.tolist() == [1, 1, 1, 0, -1]


def test_random_sampler_counts_and_gt_flags(seeded):
    boxes = torch.cat([PROPOSALS] * 40)
    assigner = MaxIoUAssigner(0.5, 0.5, match_low_quality=False)
    res = assigner.assign(boxes, GT, torch.tensor([1]))
    sampler = RandomSampler(num=32, pos_fraction=0.25, add_gt_as_proposals=True)
    out = sampler.sample(res, boxes, GT, torch.tensor([1]))
    assert out.num_pos == 8 and out.num_neg == 24
    assert out.candidates.shape[0] == boxes.shape[0] + 1
    assert out.priors.shape == (32, 4)
    assert (out.pos_gt_labels == 1).all()
    assert out.pos_is_gt.sum() <= 1
    assert torch.equal(out.pos_gt_bboxes, GT.expand(8, 4))


def test_sampler_neg_pos_ub_and_sample_all():
    boxes = torch.cat([PROPOSALS] * 10)
    res = MaxIoUAssigner(0.5, 0.5, match_low_quality=False).assign(boxes, GT, torch.tensor([0]))
    limited = RandomSampler(num=40, pos_fraction=0.5, neg_pos_ub=1, add_gt_as_proposals=False)
    out = limited.sample(res, boxes, GT, torch.tensor([0]))
    assert out.num_neg <= out.num_pos
    every = RandomSampler(num=4, pos_fraction=0.25, sample_all=True, add_gt_as_proposals=True)
    out = every.sample(res, boxes, GT, torch.tensor([0]))
    assert out.num_pos == 31 and out.num_neg == 20


def test_anchor_generator_hand_values():
    gen = AnchorGenerator(strides=[4], ratios=[0.5, 1.0, 2.0], scales=[8])
    base = gen.base_anchors[0]
    s = 32 * math.sqrt(0.5)
    expected = torch.tensor([[-s, -s / 2, s, s / 2], [-16, -16, 16, 16], [-s / 2, -s, s / 2, s]])
    assert torch.allclose(base, expected, atol=1e-4)
    grid = gen.grid_priors([(2, 3)])[0]
    assert grid.shape == (2 * 3 * 3, 4)
    # location (x=4, y=0) is the second, its ratio-1 anchor the middle one.
    assert grid[1 * 3 + 1].tolist() == [-12.0, -16.0, 20.0, 16.0]
    assert grid[3 * 3 + 1].tolist() == [-16.0, -12.0, 16.0, 20.0]
