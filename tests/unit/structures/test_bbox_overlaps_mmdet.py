"""``bbox_overlaps`` in MMDetection's modes and shapes (pairwise, aligned, batched, GIoU) and the
``BboxOverlaps2D`` calculator, pinned to MMDetection 3.3.0's values on the same boxes."""

import pytest
import torch

from mmcascade.models.task_modules.assigners import BboxOverlaps2D, MaxIoUAssigner
from mmcascade.structures import bbox_overlaps

B1 = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 15.0, 25.0], [2.0, 3.0, 2.0, 8.0]])
B2 = torch.tensor([[0.0, 0.0, 10.0, 20.0], [20.0, 20.0, 30.0, 30.0], [6.0, 4.0, 12.0, 9.0]])
# MMDetection 3.3.0's mmdet.structures.bbox.bbox_overlaps on B1, B2
MMDET = {
    "iou": [[0.5, 0.0, 0.1818181872367859], [0.23076923191547394, 0.0, 0.11650485545396805], [0.0, 0.0, 0.0]],
    "iof": [[1.0, 0.0, 0.20000000298023224], [0.375, 0.0, 0.11999999731779099], [0.0, 0.0, 0.0]],
    "giou": [
        [0.5, -0.7777777910232544, 0.09848485141992569],
        [0.09743589162826538, -0.5199999809265137, 0.09745723754167557],
        [0.0, -0.8677248954772949, -0.5],
    ],
}
MMDET_ALIGNED = {"iou": [0.5, 0.0, 0.0], "iof": [1.0, 0.0, 0.0], "giou": [0.5, -0.5199999809265137, -0.5]}
MMDET_BATCH_GIOU_SECOND = [  # boxes1 * 2 against boxes2 + 1
    [0.43960511684417725, -0.47970864176750183, 0.07500000298023224],
    [-0.29288890957832336, 0.0753968209028244, -0.19806763529777527],
    [0.0, -0.8518518805503845, -0.6969696879386902],
]


@pytest.mark.parametrize("mode", sorted(MMDET))
def test_pairwise_and_aligned_as_mmdetection(mode):
    assert torch.allclose(bbox_overlaps(B1, B2, mode), torch.tensor(MMDET[mode]), atol=1e-7)
    assert torch.allclose(bbox_overlaps(B1, B2, mode, is_aligned=True), torch.tensor(MMDET_ALIGNED[mode]), atol=1e-7)


def test_batched_boxes_and_empty_shapes():
    got = bbox_overlaps(torch.stack([B1, B1 * 2]), torch.stack([B2, B2 + 1]), mode="giou")
    assert got.shape == (2, 3, 3)
    assert torch.allclose(got[0], torch.tensor(MMDET["giou"]), atol=1e-7)
    assert torch.allclose(got[1], torch.tensor(MMDET_BATCH_GIOU_SECOND), atol=1e-7)
    assert bbox_overlaps(torch.zeros(2, 0, 4), torch.zeros(2, 3, 4)).shape == (2, 0, 3)
    assert bbox_overlaps(torch.zeros(0, 4), torch.zeros(0, 4), is_aligned=True).shape == (0,)
    with pytest.raises(ValueError, match="is_aligned needs as many boxes"):
        bbox_overlaps(B1, B2[:2], is_aligned=True)
    with pytest.raises(ValueError, match=r"boxes2 must be \(\.\.\., 4\)"):
        bbox_overlaps(B1, torch.zeros(3, 5))


def test_calculator_scores_fp16_and_repr():
    calc = BboxOverlaps2D()
    scored = torch.cat([B1, torch.ones(3, 1)], 1)  # a trailing score column is dropped
    assert torch.equal(calc(scored, B2), bbox_overlaps(B1, B2))
    assert torch.equal(calc(B1, B2, mode="giou", is_aligned=True), bbox_overlaps(B1, B2, "giou", True))
    half = BboxOverlaps2D(scale=8.0, dtype="fp16")
    got = half(scored, B2)
    assert got.dtype == torch.float32  # half precision inside, float32 back on the CPU (MMDetection's values:)
    expected = [[0.5, 0.0, 0.1817626953125], [0.230712890625, 0.0, 0.11651611328125], [0.0, 0.0, 0.0]]
    assert torch.equal(got, torch.tensor(expected))
    assert repr(half) == "BboxOverlaps2D(scale=8.0, dtype=fp16)"
    with pytest.raises(ValueError, match="dtype must be None or 'fp16'"):
        BboxOverlaps2D(dtype="bf16")


def test_assigner_uses_its_calculator():
    gts, labels = B2[:1], torch.tensor([3])
    default = MaxIoUAssigner(0.5, 0.4).assign_boxes(B1, gts, labels)
    half = MaxIoUAssigner(0.5, 0.4, iou_calculator=dict(type="BboxOverlaps2D", scale=4.0, dtype="fp16"))
    got = half.assign_boxes(B1, gts, labels)
    assert torch.equal(got.gt_inds, default.gt_inds) and got.gt_inds.tolist() == [1, 0, 0]
    assert torch.allclose(got.max_overlaps, default.max_overlaps, atol=1e-3)
