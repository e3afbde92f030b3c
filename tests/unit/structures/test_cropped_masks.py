"""CroppedMasks: bitmaps and RLE equal to the full-size forms, geometry, indexing inside InstanceData."""

import numpy as np
import pycocotools.mask as mask_utils
import pytest
import torch
from mmengine.structures import InstanceData

from mmcascade.structures import CroppedMasks, paste_masks, paste_masks_cropped


@pytest.fixture
def bitmaps():
    rng = np.random.default_rng(0)
    m = np.zeros((6, 37, 53), bool)
    m[0, 3:10, 4:20] = True  # a rectangle
    m[1, 30:37, 40:53] = True  # touching the bottom-right corner (last pixel set)
    m[2] = rng.random((37, 53)) > 0.7  # many runs
    m[4, 0, 0] = True  # the first pixel alone
    m[5, :, 52] = True  # the last column
    return m  # m[3] is empty


def test_bitmaps_and_rle_round_trip(bitmaps):
    masks = CroppedMasks.from_bitmaps(bitmaps)
    assert masks.shape == (6, 37, 53) and len(masks) == 6
    assert masks.crops[0].shape == (7, 16) and masks.origins[0].tolist() == [4, 3]  # tight window
    assert masks.crops[3].shape == (0, 0)
    assert torch.equal(masks.to_bitmaps(), torch.from_numpy(bitmaps))
    expected = [mask_utils.encode(np.asfortranarray(b.astype(np.uint8))) for b in bitmaps]
    rles = masks.to_rle()
    assert [r["counts"] for r in rles] == [e["counts"].decode() for e in expected]
    assert all(r["size"] == [37, 53] for r in rles)
    assert masks.areas.tolist() == bitmaps.sum(axis=(1, 2)).tolist()


def test_windows_past_the_border_are_cut():
    crop = np.ones((4, 4), bool)
    masks = CroppedMasks([crop, crop], [[-2, -1], [8, 7]], height=9, width=10)
    full = masks.to_bitmaps().numpy()
    assert full[0].sum() == 2 * 3 and full[0][:3, :2].all()
    assert full[1].sum() == 2 * 2 and full[1][7:, 8:].all()
    assert masks.areas.tolist() == [6, 4]
    rle = masks.to_rle()
    assert (mask_utils.decode(rle[1]) == full[1]).all()


def test_geometry(bitmaps):
    masks = CroppedMasks.from_bitmaps(bitmaps)
    assert torch.equal(masks.flip("horizontal").to_bitmaps(), torch.from_numpy(bitmaps[:, :, ::-1].copy()))
    assert torch.equal(masks.flip("vertical").to_bitmaps(), torch.from_numpy(bitmaps[:, ::-1].copy()))
    moved = masks.translate(10, 5, 60, 80).to_bitmaps().numpy()
    assert moved.shape == (6, 60, 80) and (moved[:, 5:42, 10:63] == bitmaps).all() and moved.sum() == bitmaps.sum()
    union = masks.union([0, 1, 3])
    assert len(union) == 1 and (union.to_bitmaps().numpy()[0] == (bitmaps[0] | bitmaps[1])).all()
    assert union.origins[0].tolist() == [4, 3] and union.crops[0].shape == (34, 49)
    assert torch.equal(masks.flip("diagonal").to_bitmaps(), torch.from_numpy(bitmaps[:, ::-1, ::-1].copy()))
    with pytest.raises(ValueError, match="direction"):
        masks.flip("sideways")


def test_indexing_inside_instance_data(bitmaps):
    inst = InstanceData(masks=CroppedMasks.from_bitmaps(bitmaps), scores=torch.arange(6.0))
    picked = inst[inst.scores > 3]
    assert len(picked.masks) == 2 and torch.equal(picked.masks.to_bitmaps(), torch.from_numpy(bitmaps[4:]))
    reordered = inst[torch.tensor([5, 0])]
    assert torch.equal(reordered.masks.to_bitmaps(), torch.from_numpy(bitmaps[[5, 0]]))
    assert len(inst[:0].masks) == 0 and len(inst[inst.scores > 9].masks) == 0
    both = InstanceData.cat([inst, inst])
    assert len(both.masks) == 12 and torch.equal(both.masks.to_bitmaps()[6:], torch.from_numpy(bitmaps))
    with pytest.raises(ValueError, match="different image sizes"):
        CroppedMasks.cat([inst.masks, inst.masks.translate(0, 0, 99, 99)])


def test_cropped_paste_equals_full_paste():
    torch.manual_seed(0)
    probs = torch.rand(5, 28, 28)
    boxes = torch.tensor([[1.0, 2, 30, 20], [-5, -5, 10, 10], [40.5, 30, 60, 50], [5, 5, 5, 5], [60, 60, 70, 70]])
    full = paste_masks(probs, boxes, (37, 53))
    cropped = paste_masks_cropped(probs, boxes, (37, 53))
    assert torch.equal(cropped.to_bitmaps(), full)
    # each crop is the box grown by one pixel and clipped: memory follows the box
    assert cropped.origins[0].tolist() == [0, 1] and cropped.crops[0].shape == (20, 31)
    assert cropped.crops[4].shape == (0, 0)  # entirely outside the image


@pytest.mark.timeout(60)
def test_cropped_masks_convert_as_bitmaps_do():
    bitmaps = torch.zeros((3, 20, 30), dtype=torch.bool)
    bitmaps[0, 2:5, 3:9] = True
    bitmaps[1, 10:20, 25:30] = True  # to the border
    masks = CroppedMasks.from_bitmaps(bitmaps)
    full = bitmaps.numpy()
    assert np.array_equal(np.asarray(masks), full)  # (was: numpy walked an endless nested sequence)
    assert np.asarray(masks, dtype=np.uint8).dtype == np.uint8
    assert np.array_equal(masks.cpu().numpy(), full)
    assert torch.equal(torch.as_tensor(np.asarray(masks)), bitmaps)
    assert torch.equal(torch.as_tensor(masks), bitmaps)
    assert np.array_equal(masks[1], full[1]) and np.array_equal(masks[-1], full[2])  # one mask, (H, W)
    assert [m.shape for m in masks] == [(20, 30)] * 3 and np.array_equal(np.stack(list(masks)), full)
    assert isinstance(masks[[0, 2]], CroppedMasks) and len(masks[1:]) == 2  # several: still cropped
    with pytest.raises(IndexError, match="out of range for 3 masks"):
        masks[3]


def test_cropped_masks_refuse_a_full_array_too_large(monkeypatch):
    import mmcascade.structures.cropped_masks as module

    masks = CroppedMasks([np.ones((2, 2), bool)] * 4, [[0, 0]] * 4, 5000, 5000)
    monkeypatch.setattr(module, "FULL_ARRAY_LIMIT", 2**20)
    with pytest.raises(
        MemoryError, match=r"4 full-size masks of 5000x5000 .* masks.to_rle\(\) .* masks.to_bitmaps\(\)"
    ):
        np.asarray(masks)
    assert masks[0].shape == (5000, 5000)  # one mask at a time is fine
    assert len(masks.to_rle()) == 4


def test_bitmap_masks_convert_with_numpy():
    from mmcascade.structures import BitmapMasks

    arr = np.zeros((2, 4, 5), np.uint8)
    arr[1, 1:3, 2:4] = 1
    masks = BitmapMasks(arr, 4, 5)
    assert np.array_equal(np.asarray(masks), arr) and np.array_equal(masks.to_ndarray(), arr)
    assert [m.sum() for m in masks] == [0, 4]
