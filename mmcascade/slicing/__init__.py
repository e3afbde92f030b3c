"""Sliced inference for large images: the tiles and settings (``tiles``), merging the tiles'
detections (``merging``), the driver (:func:`inference_sliced`) and the test-time wrapper that
``test --slice`` uses (:class:`SlicedDetector`). No model code knows of it."""

from .driver import inference_sliced
from .merging import merge_instances
from .tiles import SliceSettings, Tile, parse_slice_size, tile_grid, tile_starts
from .wrapper import SlicedDetector, sliced_test_settings

__all__ = [
    "SliceSettings",
    "SlicedDetector",
    "Tile",
    "inference_sliced",
    "merge_instances",
    "parse_slice_size",
    "sliced_test_settings",
    "tile_grid",
    "tile_starts",
]
