"""Hand-computed IoU tables, delta coding and RoI packing."""

import math

import pytest
import torch

from mmcascade.structures import bbox2roi, bbox_overlaps, clip_boxes, decode_deltas, encode_deltas

from helpers.boxes import GT, PROPOSALS


def test_iou_table_hand_computed():
    ious = bbox_overlaps(GT, PROPOSALS)
    assert ious.shape == (1, 5)
    expected = torch.tensor([[0.5, 0.6, 0.7, 0.4, 0.0]])
    assert torch.equal(ious, expected.to(ious.dtype))


def test_iou_partial_overlap_and_symmetry():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0], [2.0, 2.0, 4.0, 4.0]])
    b = torch.tensor([[5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 10.0, 10.0]])
    ious = bbox_overlaps(a, b)
    assert ious[0, 0].item() == pytest.approx(50 / 150)
    assert ious[1, 1].item() == pytest.approx(4 / 100)
    assert ious[1, 0].item() == 0.0
    assert torch.allclose(ious, bbox_overlaps(b, a).T)


def test_iof_is_intersection_over_first_area():
    iof = bbox_overlaps(torch.tensor([[0.0, 0.0, 10.0, 10.0]]), torch.tensor([[5.0, 0.0, 30.0, 30.0]]), "iof")
    assert iof.item() == pytest.approx(0.5)


def test_iou_empty_and_degenerate():
    assert bbox_overlaps(torch.zeros((0, 4)), GT).shape == (0, 1)
    zero = torch.tensor([[3.0, 3.0, 3.0, 3.0]])
    assert bbox_overlaps(zero, zero).item() == 0.0


def test_encode_hand_computed():
    deltas = encode_deltas(
        torch.tensor([[0.0, 0.0, 10.0, 10.0]]), torch.tensor([[1.0, 2.0, 11.0, 14.0]]), stds=(0.1, 0.1, 0.2, 0.2)
    )
    expected = torch.tensor([[1.0, 3.0, 0.0, math.log(1.2) / 0.2]])
    assert torch.allclose(deltas, expected, atol=1e-5)


@pytest.mark.parametrize(
    "stds", [(0.1, 0.1, 0.2, 0.2), (0.05, 0.05, 0.1, 0.1), (0.033, 0.033, 0.067, 0.067), (1.0, 1.0, 1.0, 1.0)]
)
def test_encode_decode_round_trip(stds):
    g = torch.Generator().manual_seed(1)
    xy = torch.rand(50, 2, generator=g) * 100
    rois = torch.cat([xy, xy + 5 + torch.rand(50, 2, generator=g) * 50], dim=1)
    txy = torch.rand(50, 2, generator=g) * 100
    targets = torch.cat([txy, txy + 5 + torch.rand(50, 2, generator=g) * 50], dim=1)
    deltas = encode_deltas(rois, targets, stds=stds)
    decoded = decode_deltas(rois, deltas, stds=stds, max_shape=None)
    assert torch.allclose(decoded, targets, atol=1e-3)


def test_decode_clamps_scale_and_clips_to_image():
    rois = torch.tensor([[10.0, 10.0, 20.0, 20.0]])
    huge = torch.tensor([[0.0, 0.0, 100.0, 100.0]])
    out = decode_deltas(rois, huge, max_shape=None)
    # |dw| is clamped to |log(16 / 1000)|: width 10 grows at most to 10 * 1000 / 16.
    assert (out[0, 2] - out[0, 0]).item() == pytest.approx(10 * 1000 / 16, rel=1e-4)
    clipped = decode_deltas(rois, huge, max_shape=(30, 40))
    assert clipped.tolist() == [[0.0, 0.0, 40.0, 30.0]]


def test_decode_class_specific_layout_and_fp32():
    rois = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    deltas = torch.zeros((1, 8), dtype=torch.float16)
    out = decode_deltas(rois, deltas)
    assert out.dtype == torch.float32 and out.shape == (1, 8)
    assert out.tolist() == [[0.0, 0.0, 10.0, 10.0, 0.0, 0.0, 10.0, 10.0]]


def test_bbox2roi_and_clip():
    rois = bbox2roi([torch.ones((2, 4)), torch.zeros((0, 4)), torch.full((1, 4), 2.0)])
    assert rois[:, 0].tolist() == [0.0, 0.0, 2.0]
    assert clip_boxes(torch.tensor([[-5.0, 3.0, 50.0, 70.0]]), (60, 40)).tolist() == [[0.0, 3.0, 40.0, 60.0]]


def test_decode_of_no_rois_keeps_the_class_layout():
    """An image without RoIs decodes to ``(0, 4 k)``, not a reshape error."""
    out = decode_deltas(torch.zeros((0, 4)), torch.zeros((0, 12)), [0.0] * 4, [0.1, 0.1, 0.2, 0.2], (10, 10))
    assert out.shape == (0, 12) and out.dtype == torch.float32
    assert decode_deltas(torch.zeros((0, 4)), torch.zeros((0, 4)), [0.0] * 4, [1.0] * 4).shape == (0, 4)
