"""PhotoMetricDistortion, RandomCrop, FilterAnnotations, RandomChoiceResize, RandomApply and
RandomChoice on boxes and masks, built from configs in this toolbox's scope."""

import random

import numpy as np
import pytest
from mmengine.dataset import Compose

from mmcascade.datasets.transforms import (
    FilterAnnotations,
    PhotoMetricDistortion,
    RandomChoiceResize,
    RandomCrop,
    Resize,
)
from mmcascade.registry import TRANSFORMS
from mmcascade.structures import BitmapMasks


def _results(h: int = 60, w: int = 80) -> dict:
    rng = np.random.default_rng(0)
    masks = np.zeros((3, h, w), np.uint8)
    masks[0, 5:20, 10:30] = 1
    masks[1, 40:55, 60:75] = 1
    masks[2, 30:32, 2:4] = 1
    return dict(
        img=rng.integers(0, 255, (h, w, 3), dtype=np.uint8),
        img_shape=(h, w),
        gt_bboxes=np.array([[10, 5, 30, 20], [60, 40, 75, 55], [2, 30, 4, 32]], np.float32),
        gt_bboxes_labels=np.array([0, 1, 2]),
        gt_ignore_flags=np.array([False, False, True]),
        gt_masks=BitmapMasks(masks, h, w),
    )


def test_random_crop_keeps_exactly_what_lies_inside(monkeypatch):
    res = _results()
    full_masks = res["gt_masks"].masks.copy()
    offsets = iter([20, 50])  # y1, x1 drawn by random.randint
    monkeypatch.setattr(random, "randint", lambda a, b: next(offsets))
    out = RandomCrop(crop_size=(30, 30))(res)
    # window x 50..80, y 20..50: box 1 (60..75, 40..55) is cut at y=50, boxes 0 and 2 lie outside
    assert out["img"].shape == (30, 30, 3) and out["img_shape"] == (30, 30)
    np.testing.assert_array_equal(out["gt_bboxes"], [[10, 20, 25, 30]])
    assert out["gt_bboxes_labels"].tolist() == [1] and out["gt_ignore_flags"].tolist() == [False]
    np.testing.assert_array_equal(out["gt_masks"].masks[0], full_masks[1, 20:50, 50:80])
    assert out["gt_masks"].masks.sum() == full_masks[1, 20:50, 50:80].sum() == 10 * 15


def test_random_crop_without_boxes_is_skipped_unless_allowed(monkeypatch):
    monkeypatch.setattr(random, "randint", lambda a, b: 0)
    window = dict(crop_size=(4, 4))  # y 0..4, x 0..4: no object there
    assert RandomCrop(**window)(_results()) is None
    out = RandomCrop(**window, allow_negative_crop=True)(_results())
    assert out["gt_bboxes"].shape == (0, 4) and len(out["gt_masks"]) == 0 and out["gt_masks"].height == 4


def test_random_crop_recomputes_boxes_from_masks_and_checks_its_options(monkeypatch):
    res = _results()
    res["gt_bboxes"][0] = [8, 3, 32, 22]  # a loose box around mask 0
    monkeypatch.setattr(random, "randint", lambda a, b: 0)
    out = RandomCrop(crop_size=(40, 25), recompute_bbox=True)(res)  # (w, h)
    np.testing.assert_array_equal(out["gt_bboxes"][0], [10, 5, 30, 20])
    with pytest.raises(ValueError, match="crop_type"):
        RandomCrop(crop_size=(10, 10), crop_type="random")
    with pytest.raises(ValueError, match="relative"):
        RandomCrop(crop_size=(1.5, 0.5), crop_type="relative")
    random.seed(0)
    monkeypatch.undo()
    out = RandomCrop(crop_size=(0.5, 0.5), crop_type="relative", allow_negative_crop=True)(_results())
    assert out["img"].shape[:2] == (30, 40)


def test_filter_annotations_by_box_and_mask():
    out = FilterAnnotations(min_gt_bbox_wh=(3, 3))(_results())
    assert out["gt_bboxes_labels"].tolist() == [0, 1] and len(out["gt_masks"]) == 2
    out = FilterAnnotations(by_box=False, by_mask=True, min_gt_mask_area=226)(_results())
    assert out["gt_bboxes_labels"].tolist() == [0]  # areas 300, 225, 4
    # MMDetection's keep_empty: True (default) skips an image left without boxes, False keeps it
    assert FilterAnnotations(min_gt_bbox_wh=(100, 100))(_results()) is None
    kept = FilterAnnotations(min_gt_bbox_wh=(100, 100), keep_empty=False)(_results())
    assert kept["gt_bboxes"].shape == (0, 4) and len(kept["gt_masks"]) == 0
    with pytest.raises(ValueError, match="by_box and by_mask"):
        FilterAnnotations(by_box=False)


def test_photometric_distortion_changes_colours_only():
    random.seed(3)
    np.random.seed(3)
    res = _results()
    before = res["img"].copy()
    boxes = res["gt_bboxes"].copy()
    out = PhotoMetricDistortion()(res)
    assert out["img"].dtype == np.float32 and out["img"].shape == before.shape
    assert not np.allclose(out["img"], before)
    np.testing.assert_array_equal(out["gt_bboxes"], boxes)
    # with every range collapsed to the identity, the image is unchanged (up to HSV round trip)
    same = PhotoMetricDistortion(brightness_delta=0, contrast_range=(1, 1), saturation_range=(1, 1), hue_delta=0)
    for seed in range(6):
        random.seed(seed)
        np.random.seed(seed)
        img = same(dict(img=before.copy()))["img"]
        assert np.allclose(np.sort(img, axis=2), np.sort(before.astype(np.float32), axis=2), atol=1e-2)


def test_random_choice_resize_and_wrappers_build_our_transforms():
    pipeline = Compose(
        [
            dict(type="RandomChoiceResize", scales=[(160, 120), (200, 150)], keep_ratio=True),
            dict(type="RandomApply", transforms=[dict(type="RandomFlip", prob=1.0)], prob=0.5),
            dict(
                type="RandomChoice",
                transforms=[
                    [dict(type="FilterAnnotations", min_gt_bbox_wh=(3, 3))],
                    [dict(type="PhotoMetricDistortion")],
                ],
            ),
        ]
    )
    assert isinstance(pipeline.transforms[0], RandomChoiceResize)
    inner = pipeline.transforms[1].transforms.transforms[0]
    assert type(inner).__module__.startswith("mmcascade")
    sizes = set()
    for seed in range(12):
        random.seed(seed)
        np.random.seed(seed)
        out = pipeline(_results())
        h, w = out["img"].shape[:2]
        sizes.add((w, h))
        assert out["gt_masks"].masks.shape[1:] == (h, w)
        assert (out["gt_bboxes"][:, 2] <= w).all() and (out["gt_bboxes"][:, 3] <= h).all()
    assert sizes == {(160, 120), (200, 150)}
    with pytest.raises(ValueError, match="resize_type"):
        TRANSFORMS.build(dict(type="RandomChoiceResize", scales=[(10, 10)], resize_type="FancyResize"))
    assert isinstance(TRANSFORMS.build(dict(type="Resize", scale=(10, 10))), Resize)


@pytest.mark.parametrize(
    "prob, direction, expected",
    [
        ([0.3, 0.2, 0.1], ["horizontal", "vertical", "diagonal"], [0.3, 0.2, 0.1, 0.4]),
        (0.6, ["horizontal", "vertical"], [0.3, 0.3, 0.0, 0.4]),
        (0.5, "vertical", [0.0, 0.5, 0.0, 0.5]),
    ],
)
def test_random_flip_directions_as_mmcv(prob, direction, expected):
    """mmcv's RandomFlip: a list of directions shares a float prob equally, or takes one prob each;
    what is left is no flip."""
    flip = TRANSFORMS.build(dict(type="RandomFlip", prob=prob, direction=direction))
    random.seed(0)
    seen = {"horizontal": 0, "vertical": 0, "diagonal": 0, None: 0}
    for _ in range(20000):
        out = flip.transform(dict(img=np.zeros((2, 3, 3), np.uint8)))
        assert out["flip"] == (out["flip_direction"] is not None)
        seen[out["flip_direction"]] += 1
    freq = [seen[k] / 20000 for k in ("horizontal", "vertical", "diagonal", None)]
    assert np.allclose(freq, expected, atol=0.015), freq


def test_diagonal_flip_mirrors_boxes_and_masks_both_ways():
    res = _results()  # 60 x 80
    out = TRANSFORMS.build(dict(type="RandomFlip", prob=1.0, direction="diagonal")).transform(_results())
    assert out["flip_direction"] == "diagonal"
    # box [10, 5, 30, 20] -> [80 - 30, 60 - 20, 80 - 10, 60 - 5]
    assert out["gt_bboxes"][0].tolist() == [50, 40, 70, 55]
    assert np.array_equal(out["img"], res["img"][::-1, ::-1])
    assert np.array_equal(out["gt_masks"].masks, res["gt_masks"].masks[:, ::-1, ::-1])
    assert np.array_equal(out["gt_masks"].get_bboxes(), out["gt_bboxes"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(direction="sideways"), "direction must be one of"),
        (dict(prob=[0.5], direction=["horizontal", "vertical"]), "1 probabilities for 2 directions"),
        (dict(prob=[0.7, 0.6], direction=["horizontal", "vertical"]), "sum <= 1"),
        (dict(prob=1.5), "must be in \\[0, 1\\]"),
    ],
)
def test_random_flip_refuses_bad_options_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TRANSFORMS.build(dict(type="RandomFlip", **kwargs))
