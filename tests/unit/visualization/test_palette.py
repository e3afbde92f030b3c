"""Palette helpers under MMDetection's names, pinned to MMDetection 3.3.0's outputs, and the
visualiser and ``init_detector`` reading palette specs."""

import numpy as np
import pytest

from mmcascade.config.class_names import COCO_CLASSES
from mmcascade.datasets import CocoDataset
from mmcascade.visualization import DetLocalVisualizer
from mmcascade.visualization.palette import _get_adaptive_scales, get_palette, jitter_color, palette_val


def test_get_palette_as_mmdetection():
    coco = get_palette("coco", 80)
    assert len(coco) == 80 and coco[:3] == [(220, 20, 60), (119, 11, 32), (0, 0, 142)]
    assert len(get_palette("coco", 3)) == 80  # a dataset's palette whole, as MMDetection
    assert get_palette("voc", 20)[:2] == [(106, 0, 228), (119, 11, 32)]
    assert get_palette("citys", 8)[:2] == [(220, 20, 60), (255, 0, 0)]
    assert get_palette("random", 4) == [(102, 179, 92), (14, 106, 71), (188, 20, 102), (121, 210, 214)]
    assert get_palette(None, 2) == get_palette("random", 2)
    assert get_palette((10, 20, 30), 3) == [(10, 20, 30)] * 3
    assert get_palette([(1, 2, 3), (4, 5, 6)], 2) == [(1, 2, 3), (4, 5, 6)]
    assert get_palette("red", 2) == [(255, 0, 0)] * 2 and get_palette("green", 1) == [(0, 255, 0)]
    state = np.random.get_state()[1].copy()
    get_palette("random", 10)
    assert np.array_equal(np.random.get_state()[1], state)  # the caller's random state is untouched
    with pytest.raises(ValueError, match="2 colours for 3 classes"):
        get_palette([(1, 2, 3), (4, 5, 6)], 3)
    with pytest.raises(TypeError, match="palette must be"):
        get_palette(5, 3)
    with pytest.raises(ValueError, match="palette 'cpu' is neither 'random'"):
        get_palette("cpu", 3)


def test_small_helpers_as_mmdetection():
    assert palette_val([(255, 0, 128)]) == [(1.0, 0.0, 0.5019607843137255)]
    np.random.seed(0)
    assert jitter_color((100, 200, 10)) == (100, 220, 17) and jitter_color((250, 250, 250)) == (255, 243, 255)
    areas = np.array([100.0, 800.0, 15000.0, 29999.0, 30000.0, 100000.0])
    assert _get_adaptive_scales(areas).tolist() == [0.5, 0.5, 0.5, 0.5, 1.0, 1.0]


def test_coco_dataset_and_visualiser_colours():
    assert CocoDataset.METAINFO["palette"] == get_palette("coco", 80)
    vis = DetLocalVisualizer(name="palette_test")
    vis.dataset_meta = dict(classes=COCO_CLASSES, palette="random")
    labels = np.array([0, 3, 79])
    assert vis._colors(labels) == [get_palette("random", 80)[i] for i in labels]
    vis.dataset_meta = dict(classes=("a", "b"), palette=(9, 8, 7))
    assert vis._colors(np.array([0, 1])) == [(9, 8, 7), (9, 8, 7)]
