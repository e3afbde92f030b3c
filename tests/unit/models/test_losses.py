"""Loss values on tiny hand-checkable inputs."""

import math

import pytest
import torch

from mmcascade.models.losses import CrossEntropyLoss, L1Loss, SmoothL1Loss


def test_smooth_l1_hand_values():
    loss = SmoothL1Loss(beta=1.0, reduction="none")
    out = loss(torch.tensor([0.5, 2.0, -3.0]), torch.zeros(3))
    assert out.tolist() == pytest.approx([0.125, 1.5, 2.5])
    rpn = SmoothL1Loss(beta=1.0 / 9.0, reduction="none")
    assert rpn(torch.tensor([0.05]), torch.zeros(1)).item() == pytest.approx(0.5 * 0.05**2 * 9)


def test_avg_factor_and_weights():
    loss = SmoothL1Loss(beta=1.0, loss_weight=2.0)
    pred, weight = torch.tensor([[2.0, 0.0]]), torch.tensor([[1.0, 0.0]])
    assert loss(pred, torch.zeros(1, 2), weight, avg_factor=4).item() == pytest.approx(2.0 * 1.5 / 4)
    assert L1Loss()(torch.tensor([1.0, -3.0]), torch.zeros(2)).item() == pytest.approx(2.0)
    assert SmoothL1Loss()(pred, torch.zeros(1, 2), torch.zeros(1, 2)).item() == 0.0


def test_softmax_cross_entropy_matches_definition():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    labels = torch.tensor([0, 2])
    value = CrossEntropyLoss()(logits, labels, torch.ones(2), avg_factor=2).item()
    p0 = math.exp(2) / (math.exp(2) + 2)
    p1 = 1 / (2 + math.e)
    assert value == pytest.approx(-(math.log(p0) + math.log(p1)) / 2, rel=1e-5)


def test_sigmoid_cross_entropy_background_is_all_zero():
    loss = CrossEntropyLoss(use_sigmoid=True, reduction="none")
    out = loss(torch.tensor([[0.0], [0.0]]), torch.tensor([0, 1]))
    assert out[:, 0].tolist() == pytest.approx([math.log(2), math.log(2)])
    out = loss(torch.tensor([[3.0], [3.0]]), torch.tensor([0, 1]))
    assert out[0, 0].item() == pytest.approx(math.log(1 + math.exp(-3)))
    assert out[1, 0].item() == pytest.approx(math.log(1 + math.exp(3)))


def test_mask_cross_entropy_uses_the_label_channel():
    pred = torch.zeros((1, 2, 2, 2))
    pred[0, 1] = 10.0
    target = torch.ones((1, 2, 2))
    right = CrossEntropyLoss(use_mask=True)(pred, target, torch.tensor([1])).item()
    wrong = CrossEntropyLoss(use_mask=True)(pred, target, torch.tensor([0])).item()
    assert right == pytest.approx(math.log(1 + math.exp(-10)), rel=1e-4)
    assert wrong == pytest.approx(math.log(2))
