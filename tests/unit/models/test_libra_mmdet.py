"""Libra R-CNN's parts under MMDetection's names: the balanced feature pyramid (``BFP``, with no,
conv and non-local refinement), ``BalancedL1Loss`` (values and gradients), and the samplers
``IoUBalancedNegSampler`` / ``InstanceBalancedPosSampler`` / ``CombinedSampler``, whose random draws
(``torch.randperm`` from the same seed) pick the same boxes. Pinned to MMDetection 3.3.0 on the
same weights and inputs."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmcascade.models.task_modules.assigners import AssignResult
from mmcascade.registry import MODELS, TASK_UTILS
from mmcascade.structures import DetDataSample

from helpers import REPO

# MMDetection 3.3.0: BFP outputs' sums then largest magnitudes, per level
MMDET_BFP = {
    None: [10588.3798828125, 2746.4912109375, 793.1710205078125, 368.6212158203125, 167.37197875976562,
           4.8296051025390625, 5.558821678161621, 4.826505661010742, 4.0915703773498535, 4.472105979919434],
    "conv": [1072.049072265625, 216.4528045654297, 91.94813537597656, 74.83673858642578, 59.26123809814453,
             4.34328031539917, 3.879523515701294, 3.3367793560028076, 2.949747323989868, 2.8244082927703857],
    "non_local": [12029.5380859375, 3127.9833984375, 899.1367797851562, 400.40081787109375, 177.96527099609375,
                  5.010019779205322, 5.671365737915039, 4.880054473876953, 3.9787302017211914, 4.432931423187256],
}  # fmt: skip
MMDET_BL1 = 12.390131950378418
MMDET_BL1_GRAD = [
    [-0.0, -0.0, -0.4285714626312256, -0.4285714626312256],
    [-0.24964594841003418, 0.0, -0.0, -0.4285714626312256],
    [0.37760499119758606, 0.4285714626312256, 0.4285714626312256, 0.0],
    [0.31404003500938416, -0.4285714626312256, -0.0, -0.0],
    [-0.3348536491394043, 0.37850338220596313, 0.0, 0.4285714626312256],
    [0.30044540762901306, 0.4285714626312256, -0.4285714626312256, 0.4285714626312256],
]
MMDET_BL1_NONE_FIRST = [0.5887636542320251, 0.4678894281387329, 8.172707557678223, 6.140244960784912]
MMDET_NEG = [7, 10, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]  # seed 5, 18 wanted
MMDET_NEG_FLOOR = [6, 7, 8, 10, 11, 13, 16, 17, 18, 21, 23, 24, 26, 27]  # seed 6, 14 wanted
MMDET_POS_FEW = [0, 1, 4]  # seed 7, 3 wanted


def _feats() -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    return tuple(torch.randn(2, 8, s, s + 2, generator=g) for s in (32, 16, 8, 4, 2))


@pytest.mark.parametrize("refine_type", [None, "conv", "non_local"])
def test_bfp_matches_mmdetection(refine_type):
    torch.manual_seed(0)
    bfp = MODELS.build(dict(type="BFP", in_channels=8, num_levels=5, refine_level=2, refine_type=refine_type))
    bfp.init_weights()
    for p in bfp.parameters():
        torch.nn.init.normal_(p, std=0.1)
    outs = bfp(_feats())
    assert [o.shape for o in outs] == [f.shape for f in _feats()]
    got = [o.sum().item() for o in outs] + [o.abs().max().item() for o in outs]
    assert got == pytest.approx(MMDET_BFP[refine_type], rel=1e-6)


def test_balanced_l1_matches_mmdetection():
    g = torch.Generator().manual_seed(1)
    pred = (torch.randn(6, 4, generator=g) * 1.5).requires_grad_()
    target = torch.randn(6, 4, generator=g)
    weight = (torch.rand(6, 4, generator=g) > 0.3).float()
    loss_fn = MODELS.build(dict(type="BalancedL1Loss", alpha=0.5, gamma=1.5, beta=1.0, loss_weight=2.0))
    loss = loss_fn(pred, target, weight, avg_factor=7.0)
    loss.backward()
    assert loss.item() == pytest.approx(MMDET_BL1, rel=1e-6)
    assert pred.grad.flatten().tolist() == pytest.approx(sum(MMDET_BL1_GRAD, []), abs=1e-6)
    assert loss_fn(pred, target, reduction_override="none")[0].tolist() == pytest.approx(MMDET_BL1_NONE_FIRST, rel=1e-6)


def _assign() -> AssignResult:
    """40 boxes: 6 positives of ground truth 1, 2, 3; negatives of IoU 0 (10), IoU up to 0.5
    (14); 10 ignored."""
    gt = torch.tensor([1, 1, 1, 2, 2, 3] + [0] * 24 + [-1] * 10)
    iou = [0.99, 0.8, 0.7, 0.75, 0.9, 0.6] + [0.0] * 10 + [0.05 * (i + 1) for i in range(6)]
    iou += [0.31, 0.32, 0.4, 0.45, 0.35, 0.5, 0.49, 0.36] + [-1.0] * 10
    labels = torch.where(gt > 0, gt - 1, torch.full_like(gt, -1))
    return AssignResult(num_gts=3, gt_inds=gt, max_overlaps=torch.tensor(iou), labels=labels)


def test_iou_balanced_negatives_match_mmdetection():
    sampler = TASK_UTILS.build(
        dict(type="IoUBalancedNegSampler", num=24, pos_fraction=0.25, floor_thr=-1, floor_fraction=0, num_bins=3)
    )
    torch.manual_seed(5)
    assert sorted(sampler._sample_neg(_assign(), 18).tolist()) == MMDET_NEG
    floored = TASK_UTILS.build(
        dict(type="IoUBalancedNegSampler", num=24, pos_fraction=0.25, floor_thr=0.1, floor_fraction=0.5, num_bins=2)
    )
    torch.manual_seed(6)
    assert sorted(floored._sample_neg(_assign(), 14).tolist()) == MMDET_NEG_FLOOR


def test_instance_balanced_positives_match_mmdetection():
    sampler = TASK_UTILS.build(dict(type="InstanceBalancedPosSampler", num=24, pos_fraction=0.25))
    assert sorted(sampler._sample_pos(_assign(), 6).tolist()) == list(range(6))
    torch.manual_seed(7)
    assert sorted(sampler._sample_pos(_assign(), 3).tolist()) == MMDET_POS_FEW


def test_combined_sampler_uses_each_for_its_side():
    combined = TASK_UTILS.build(
        dict(
            type="CombinedSampler",
            num=24,
            pos_fraction=0.25,
            add_gt_as_proposals=False,
            pos_sampler=dict(type="InstanceBalancedPosSampler"),
            neg_sampler=dict(type="IoUBalancedNegSampler", floor_thr=-1, floor_fraction=0, num_bins=3),
        )
    )
    assert combined.neg_sampler.num == 24 and combined.pos_sampler.pos_fraction == 0.25
    priors = torch.rand(40, 4) * 10
    priors[:, 2:] += priors[:, :2] + 1
    gt_bboxes = torch.rand(3, 4) * 20 + torch.tensor([0, 0, 21, 21])
    torch.manual_seed(5)
    result = combined.sample(_assign(), priors, gt_bboxes, torch.tensor([0, 1, 2]))
    assert result.pos_inds.tolist() == list(range(6))
    assert result.neg_inds.tolist() == MMDET_NEG  # 24 - 6 positives = 18 negatives, as above


@pytest.mark.parametrize("name", ["libra_cascade_rcnn_r50_fpn_1x_coco", "libra_faster_rcnn_r50_fpn_1x_coco"])
def test_libra_configs_train(name):
    cfg = Config.fromfile(os.path.join(REPO, "configs", "libra_rcnn", f"{name}.py"))
    cfg.model.backbone.update(init_cfg=None, depth=18)
    cfg.model.neck[0].in_channels = [64, 128, 256, 512]
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    model.init_weights()
    sample = DetDataSample(metainfo=dict(img_shape=(96, 128), pad_shape=(96, 128), batch_input_shape=(96, 128)))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[10.0, 10.0, 60.0, 80.0]]), labels=torch.tensor([7]))
    losses = model.loss(torch.randn(1, 3, 96, 128), [sample])
    regression = [v for k, v in losses.items() if k.endswith("loss_bbox")]
    assert len(regression) == (3 if "cascade" in name else 1) and all(torch.isfinite(v) for v in regression)
