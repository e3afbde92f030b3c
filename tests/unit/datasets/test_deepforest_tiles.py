"""The tiling of benchmarks/deepforest_data.py (the real-data int8 measurement's dataset): a crown
cut by a tile edge is kept clipped when half of it is inside, ignored when less is."""

import importlib.util
import os.path as osp

import numpy as np

from mmcascade.slicing.tiles import Tile

SCRIPT = osp.join(osp.dirname(__file__), "..", "..", "..", "benchmarks", "deepforest_data.py")


def _module():
    spec = importlib.util.spec_from_file_location("deepforest_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tile_annotations_clip_keep_ignore_drop():
    tile = Tile(x=100, y=50, w=200, h=100)  # x 100..300, y 50..150
    boxes = np.array(
        [
            [120, 60, 20, 10],  # inside
            [280, 60, 40, 10],  # half inside: kept, clipped to x 280..300
            [90, 140, 20, 20],  # 10 x 10 of 20 x 20 inside (25 %): ignored
            [400, 60, 10, 10],  # outside: dropped
            [150, 70, 10, 10],  # inside but crowd in the source: stays crowd
        ],
        dtype=np.float64,
    )
    crowd = np.array([0, 0, 0, 0, 1])
    out = _module().tile_annotations(boxes, crowd, tile)
    assert out == [
        ([20.0, 10.0, 20.0, 10.0], 0),
        ([180.0, 10.0, 20.0, 10.0], 0),
        ([0.0, 90.0, 10.0, 10.0], 1),
        ([50.0, 20.0, 10.0, 10.0], 1),
    ]
