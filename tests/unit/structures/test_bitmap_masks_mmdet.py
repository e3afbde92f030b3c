"""BitmapMasks' geometry as MMDetection 3.3.0's: every figure below (shape, pixel count, and a
position-weighted checksum of the pixels) was measured from MMDetection's BitmapMasks on the same
masks."""

import numpy as np
import pytest

from mmcascade.structures import BitmapMasks


def _masks() -> BitmapMasks:
    m = np.zeros((2, 20, 30), np.uint8)
    m[0, 3:9, 4:15] = 1
    m[1, 10:19, 20:29] = 1
    m[1, 0:2, 0:2] = 1
    return BitmapMasks(m, 20, 30)


def _digest(masks: BitmapMasks) -> tuple:
    weights = np.arange(masks.masks.size).reshape(masks.masks.shape) % 9973
    return masks.height, masks.width, masks.masks.shape, int(masks.masks.sum()), int((masks.masks * weights).sum())


@pytest.mark.parametrize(
    "op, expected",
    [
        (lambda m: m.rescale(0.5), (10, 15, (2, 10, 15), 44, 7716)),
        (lambda m: m.rescale((100, 40)), (40, 60, (2, 40, 60), 604, 1574262)),
        (lambda m: m.resize((13, 17)), (13, 17, (2, 13, 17), 58, 14375)),
        (lambda m: m.expand(40, 50, 5, 7), (40, 50, (2, 40, 50), 151, 286297)),
        (lambda m: m.translate((20, 30), 5), (20, 30, (2, 20, 30), 115, 61411)),
        (lambda m: m.translate((25, 28), -3.5, "vertical"), (25, 28, (2, 25, 28), 146, 86614)),
        (lambda m: m.translate((20, 30), 4.5, interpolation="nearest"), (20, 30, (2, 20, 30), 124, 70737)),
    ],
)
def test_geometry_as_mmdet(op, expected):
    assert _digest(op(_masks())) == expected


def test_areas_is_a_property_and_empty_masks_keep_their_size():
    assert _masks().areas.tolist() == [66, 85]
    assert _masks().to_ndarray().shape == (2, 20, 30)
    empty = BitmapMasks(np.zeros((0, 20, 30), np.uint8), 20, 30)
    assert _digest(empty.rescale(0.5)) == (10, 15, (0, 10, 15), 0, 0)
    assert _digest(empty.resize((5, 6))) == (5, 6, (0, 5, 6), 0, 0)
    assert _digest(empty.translate((20, 30), 3)) == (20, 30, (0, 20, 30), 0, 0)
    assert empty.areas.tolist() == []
