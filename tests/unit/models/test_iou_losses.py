"""Bounded IoU, IoU, GIoU, DIoU and CIoU losses and the box head's ``reg_decoded_bbox`` as MMDetection 3.3.0
computes them: loss values and gradient sums measured from MMDetection on the same boxes, pinned."""

import pytest
import torch

from mmcascade.models.roi_heads.bbox_heads.convfc_bbox_head import BBoxTargets
from mmcascade.registry import MODELS


def _boxes(seed: int, n: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 50
    wh = torch.rand(n, 2, generator=g) * 40 + 0.5
    return torch.cat([xy, xy + wh], 1)


def _pairs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    pred, target = _boxes(0), _boxes(1)
    pred[:8] = target[:8] + torch.randn(8, 4, generator=torch.Generator().manual_seed(2))  # overlapping pairs
    pred[8] = target[8] + 0.01
    weight = (torch.rand(64, 4, generator=torch.Generator().manual_seed(3)) > 0.3).float()
    return pred, target, weight


@pytest.mark.parametrize(
    "cfg, weighted, grad_sum, plain",
    [
        (dict(type="BoundedIoULoss"), 1.901131, 0.159988, 0.520559),
        (dict(type="BoundedIoULoss", beta=0.5, loss_weight=2.0), 2.954357, 0.25453, 0.803994),
        (dict(type="IoULoss"), 8.3161, 0.163349, 8.960233),
        (dict(type="IoULoss", mode="linear"), 0.77436, 0.023403, 0.84995),
        (dict(type="IoULoss", mode="square"), 0.80575, 0.027238, 0.888731),
        (dict(type="GIoULoss", loss_weight=10.0), 11.510177, 0.53905, 12.517727),
        (dict(type="DIoULoss"), 0.974487, 0.034605, 1.062698),
        (dict(type="CIoULoss"), 0.974487, 0.034605, 1.062698),
    ],
)
def test_losses_as_mmdet(cfg, weighted, grad_sum, plain):
    loss = MODELS.build(cfg)
    pred, target, weight = _pairs()
    p = pred.clone().requires_grad_()
    value = loss(p, target, weight, avg_factor=50.0)  # (N, 4) weights (averaged per box but by BoundedIoU)
    value.backward()
    assert float(value) == pytest.approx(weighted, abs=2e-5)
    assert float(p.grad.abs().sum()) == pytest.approx(grad_sum, abs=2e-5)
    assert float(loss(pred, target)) == pytest.approx(plain, abs=2e-5)


def test_ciou_of_a_perfect_box_is_zero_not_nan():
    """MMDetection's CIoU is NaN for a box equal to its target (0 / 0 in alpha); here it is 0."""
    box = torch.tensor([[10.0, 10.0, 30.0, 50.0]], requires_grad=True)
    value = MODELS.build(dict(type="CIoULoss"))(box, box.detach().clone())
    value.backward()
    assert float(value) == pytest.approx(0.0, abs=1e-6) and torch.isfinite(box.grad).all()


@pytest.mark.parametrize("agnostic, loss_bbox, grad_sum", [(False, 3.628121, 0.575906), (True, 3.639134, 0.572209)])
def test_box_head_regresses_decoded_boxes(agnostic, loss_bbox, grad_sum):
    """``reg_decoded_bbox=True`` with GIoU (the ConvNeXt cascade rows): the positives' deltas are
    decoded from their RoIs and compared with the ground-truth boxes themselves."""
    g = torch.Generator().manual_seed(0)
    xy = torch.rand(12, 2, generator=g) * 60
    priors = torch.cat([xy, xy + torch.rand(12, 2, generator=g) * 30 + 4], 1)
    gt = priors + torch.randn(12, 4, generator=g) * 3
    labels = torch.tensor([0, 2, 1, 1, 0, 2, 3, 3, 3, 3, 3, 3])
    targets, weights = torch.zeros(12, 4), torch.zeros(12, 4)
    targets[:6], weights[:6] = gt[:6], 1.0
    cls_score = torch.randn(12, 4, generator=g)
    bbox_pred = (torch.randn(12, 12, generator=g) * 0.2).requires_grad_()
    coder = dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[0.05, 0.05, 0.1, 0.1])
    head = MODELS.build(
        dict(type="Shared2FCBBoxHead", in_channels=8, fc_out_channels=16, roi_feat_size=7, num_classes=3,
             reg_class_agnostic=agnostic, reg_decoded_bbox=True, bbox_coder=coder,
             loss_bbox=dict(type="GIoULoss", loss_weight=10.0))
    )  # fmt: skip
    pred = bbox_pred[:, :4] if agnostic else bbox_pred
    out = head.loss(cls_score, pred, BBoxTargets(labels, torch.ones(12), targets, weights, priors))
    (grad,) = torch.autograd.grad(out.loss_bbox, bbox_pred)
    assert float(out.loss_bbox) == pytest.approx(loss_bbox, abs=2e-5)
    assert float(grad.abs().sum()) == pytest.approx(grad_sum, abs=2e-5)
