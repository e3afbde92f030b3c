"""Transforms and samplers under MMDetection's names mean what they mean in MMDetection 3.3.0: the
below were measured from MMDetection 3.3.0 (mmcv 2.1.0) on the same inputs."""

import random

import numpy as np
import pytest
from torch.utils.data import Sampler

from mmcascade.datasets.samplers import AspectRatioBatchSampler
from mmcascade.registry import TRANSFORMS


def _results(h: int = 100, w: int = 200) -> dict:
    return dict(
        img=np.zeros((h, w, 3), np.uint8),
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_bboxes=np.array([[0, 0, 150, 90], [10, 10, 11, 11]], np.float32),
        gt_bboxes_labels=np.array([0, 1]),
        gt_ignore_flags=np.array([False, False]),
    )


def _build(**cfg):
    return TRANSFORMS.build(cfg)


@pytest.mark.parametrize(
    "cfg, shape",
    [
        (dict(crop_size=(50, 80)), (80, 50)),  # (w, h) pixels
        (dict(crop_size=(0.5, 0.8), crop_type="relative"), (80, 100)),  # (w, h) fractions
    ],
)
def test_random_crop_reads_width_first(cfg, shape):
    out = _build(type="RandomCrop", allow_negative_crop=True, **cfg)(_results())
    assert out["img"].shape[:2] == shape


def test_random_crop_relative_range_reads_height_first():
    """MMDetection: crop_size (0.3, 0.9) with relative_range gave mean height fraction 0.647 (min
    0.3) and mean width fraction 0.951 (min 0.9) over 2000 crops."""
    crop = _build(type="RandomCrop", crop_size=(0.3, 0.9), crop_type="relative_range", allow_negative_crop=True)
    random.seed(0)
    shapes = np.array([crop(_results())["img"].shape[:2] for _ in range(2000)]) / [100, 200]
    assert shapes[:, 0].min() >= 0.3 and abs(shapes[:, 0].mean() - 0.65) < 0.02
    assert shapes[:, 1].min() >= 0.9 and abs(shapes[:, 1].mean() - 0.95) < 0.01


def test_filter_annotations_keep_empty_as_mmdet():
    assert _build(type="FilterAnnotations", min_gt_bbox_wh=(200, 200), keep_empty=True)(_results()) is None
    out = _build(type="FilterAnnotations", min_gt_bbox_wh=(200, 200), keep_empty=False)(_results())
    assert len(out["gt_bboxes"]) == 0
    assert _build(type="FilterAnnotations", min_gt_bbox_wh=(5, 5))(_results())["gt_bboxes"].tolist() == [
        [0, 0, 150, 90]
    ]
    empty = _results()
    empty.update(
        gt_bboxes=np.zeros((0, 4), np.float32), gt_bboxes_labels=np.zeros(0, int), gt_ignore_flags=np.zeros(0, bool)
    )
    assert _build(type="FilterAnnotations", min_gt_bbox_wh=(5, 5))(empty) is not None  # nothing to filter


@pytest.mark.parametrize(
    "cfg, size, shape, scale_factor, scale",
    [
        (dict(scale=(300, 120)), (100, 200), (120, 300), (1.5, 1.2), (300, 120)),  # keep_ratio=False by default
        (dict(scale=150), (100, 200), (150, 150), (0.75, 1.5), (150, 150)),
        (dict(scale_factor=0.5), (100, 200), (50, 100), (0.5, 0.5), (100, 50)),
        (dict(scale_factor=(0.5, 0.25)), (100, 200), (25, 100), (0.5, 0.25), (100, 25)),
        (dict(scale_factor=0.333, keep_ratio=True), (101, 203), (34, 68), (68 / 203, 34 / 101), (68, 34)),
        (dict(scale=(300, 120), keep_ratio=True), (100, 200), (120, 240), (1.2, 1.2), (300, 120)),
    ],
)
def test_resize_defaults_and_scale_factor(cfg, size, shape, scale_factor, scale):
    out = _build(type="Resize", **cfg)(_results(*size))
    assert out["img"].shape[:2] == shape and out["img_shape"] == shape
    assert np.allclose(out["scale_factor"], scale_factor) and out["scale"] == scale
    assert out["keep_ratio"] == cfg.get("keep_ratio", False)


def test_resize_scale_factor_moves_boxes():
    out = _build(type="Resize", scale_factor=0.5)(_results())
    assert out["gt_bboxes"].tolist() == [[0, 0, 75, 45], [5, 5, 5.5, 5.5]]


def test_random_resize_draws_each_side_between_the_two_scales():
    """mmcv: scale [(100, 300), (200, 250)] draws w in [100, 200] and h in [250, 300] (ends
    included); keep_ratio is False unless given."""
    resize = _build(type="RandomResize", scale=[(100, 300), (200, 250)])
    random.seed(0)
    scales = np.array([resize(dict(img=np.zeros((50, 60, 3), np.uint8)))["scale"] for _ in range(3000)])
    assert scales[:, 0].min() == 100 and scales[:, 0].max() == 200
    assert scales[:, 1].min() == 250 and scales[:, 1].max() == 300
    out = resize(dict(img=np.zeros((50, 60, 3), np.uint8)))
    assert out["keep_ratio"] is False and out["img"].shape[:2] == out["scale"][::-1]


def test_random_resize_ratio_range():
    """mmcv: scale (100, 200), ratio_range (0.5, 2.0): w in [50, 199], h in [100, 399], h / w = 2."""
    resize = _build(type="RandomResize", scale=(100, 200), ratio_range=(0.5, 2.0))
    random.seed(0)
    scales = np.array([resize(dict(img=np.zeros((50, 60, 3), np.uint8)))["scale"] for _ in range(3000)])
    assert 50 <= scales[:, 0].min() <= 52 and 197 <= scales[:, 0].max() <= 199
    assert 100 <= scales[:, 1].min() <= 104 and 395 <= scales[:, 1].max() <= 399
    assert np.all(np.abs(scales[:, 1] - 2 * scales[:, 0]) <= 1)
    with pytest.raises(ValueError, match="needs ratio_range"):
        _build(type="RandomResize", scale=(100, 200))


class _Shapes:
    def __init__(self, shapes):
        self.shapes = shapes

    def __len__(self):
        return len(self.shapes)

    def get_data_info(self, i):
        return dict(width=self.shapes[i][0], height=self.shapes[i][1])


class _InOrder(Sampler):
    def __init__(self, dataset):
        self.dataset = dataset

    def __iter__(self):
        return iter(range(len(self.dataset)))

    def __len__(self):
        return len(self.dataset)


LAND, PORT = (40, 20), (20, 40)


@pytest.mark.parametrize(
    "shapes, batch_size, drop_last, batches",
    [
        ([LAND, PORT], 2, True, []),  # the left-overs fill one mixed batch: dropped
        ([LAND, PORT], 2, False, [[1, 0]]),  # portrait first
        ([LAND, PORT, LAND, PORT, PORT], 2, True, [[0, 2], [1, 3]]),
        (
            [LAND, PORT, LAND, PORT, PORT, LAND, LAND, PORT, PORT, LAND],
            3,
            False,
            [[1, 3, 4], [0, 2, 5], [7, 8, 6], [9]],
        ),
        ([PORT, LAND, LAND, PORT, LAND, PORT, LAND], 4, True, [[1, 2, 4, 6]]),
        ([PORT, LAND, LAND, PORT, LAND, PORT, LAND], 4, False, [[1, 2, 4, 6], [0, 3, 5]]),
    ],
)
def test_aspect_ratio_batches_as_mmdet(shapes, batch_size, drop_last, batches):
    sampler = AspectRatioBatchSampler(_InOrder(_Shapes(shapes)), batch_size=batch_size, drop_last=drop_last)
    assert list(sampler) == batches


@pytest.mark.parametrize(
    "cfg, shape, fixed, divisor, img_sum, mask_sum",
    [
        (dict(size=(64, 40)), (40, 64, 3), (64, 40), None, 565758, 1500),
        (dict(size_divisor=32), (32, 64, 3), None, 32, 565758, 1500),
        (dict(pad_to_square=True), (50, 50, 3), None, None, 565758, 1500),
        (dict(pad_to_square=True, size_divisor=16), (64, 64, 3), None, 16, 565758, 1500),
        (dict(size_divisor=32, pad_val=dict(img=(1, 2, 3), masks=7)), (32, 64, 3), None, 32, 569046, 5336),
        (dict(size=(60, 40), padding_mode="reflect"), (40, 60, 3), (60, 40), None, 916624, 1500),
        (dict(size=(60, 40), pad_val=5), (40, 60, 3), (60, 40), None, 579258, 1500),
    ],
)
def test_pad_as_mmdet(cfg, shape, fixed, divisor, img_sum, mask_sum):
    """MMDetection 3.3.0's Pad on a 30x50 image (values 0..4499 mod 256) and an all-ones mask."""
    from mmcascade.structures import BitmapMasks

    img = np.arange(30 * 50 * 3, dtype=np.uint8).reshape(30, 50, 3)
    res = dict(img=img, img_shape=(30, 50), gt_masks=BitmapMasks(np.ones((1, 30, 50), np.uint8), 30, 50))
    out = _build(type="Pad", **cfg)(res)
    assert out["img"].shape == out["pad_shape"] == shape and out["img_shape"] == shape[:2]
    assert out["pad_fixed_size"] == fixed and out["pad_size_divisor"] == divisor
    assert int(out["img"].astype(np.int64).sum()) == img_sum
    assert out["gt_masks"].masks.shape == (1, *shape[:2]) and int(out["gt_masks"].masks.sum()) == mask_sum
