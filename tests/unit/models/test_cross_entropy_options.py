"""CrossEntropyLoss's ``ignore_index`` and ``avg_non_ignore`` (softmax and sigmoid) as MMDetection
3.3.0's: the numbers are its losses on the same logits, labels and weights (plain, with
``weight``, with ``weight`` and ``avg_factor=5``)."""

import pytest
import torch

from mmcascade.models.losses import CrossEntropyLoss


@pytest.mark.parametrize(
    "options, expected",
    [
        (dict(), [1.509716, 0.609055, 0.974488]),
        (dict(ignore_index=2), [1.252242, 0.563663, 0.901861]),
        (dict(ignore_index=2, avg_non_ignore=True), [1.669656, 0.751551, 0.901861]),
        (dict(use_sigmoid=True), [0.662968, 0.228349, 1.461431]),
        (dict(use_sigmoid=True, ignore_index=1), [0.480571, 0.128642, 0.823309]),
        (dict(use_sigmoid=True, ignore_index=1, avg_non_ignore=True), [0.768914, 0.205827, 0.823309]),
        (dict(class_weight=[1.0, 2.0, 0.5, 1.5], ignore_index=0), [1.346915, 0.487397, 0.779836]),
    ],
)
def test_cross_entropy_options_as_mmdet(options, expected):
    g = torch.Generator().manual_seed(0)
    pred = torch.randn(8, 4, generator=g)
    label = torch.tensor([0, 1, 2, 3, 2, -1, 1, 0])  # -1: a negative label (sigmoid: counts for nothing)
    weight = torch.rand(8, generator=g)
    loss = CrossEntropyLoss(**options)
    if not options.get("use_sigmoid"):
        label = label.clamp(min=0)
    got = [
        float(loss(pred, label)),
        float(loss(pred, label, weight=weight)),
        float(loss(pred, label, weight=weight, avg_factor=5.0)),
    ]
    assert got == pytest.approx(expected, abs=2e-6)


def test_mask_loss_refuses_ignore_index():
    with pytest.raises(ValueError, match="ignore_index is not supported with use_mask"):
        CrossEntropyLoss(use_mask=True, ignore_index=255)
