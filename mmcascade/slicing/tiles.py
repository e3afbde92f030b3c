"""Where the tiles of a large image lie, and the settings of sliced inference.

:class:`SliceSettings` is the one place the settings and their defaults are written: the API
(:func:`~mmcascade.slicing.inference_sliced`), the test-time wrapper
(:class:`~mmcascade.slicing.SlicedDetector`) and the command-line options all read it. Tiles are
``(x, y, w, h)`` integer pixels of the full image (SAHI's rule: the last row and column are moved
back to end at the border, never padded).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MERGE_MODES = ("nms", "nmm")
MATCH_METRICS = ("iou", "ios")


@dataclass(frozen=True)
class Tile:
    """A window of the full image: top-left ``(x, y)`` and size ``w`` x ``h``, integer pixels."""

    x: int
    y: int
    w: int
    h: int


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of length ``tile`` overlapping by ``overlap`` pixels along an axis
    of length ``size``: ``0, stride, 2 stride, ...`` (``stride = tile - overlap``), the last one
    moved back to end exactly at the border. An axis no longer than one tile has one tile at 0
    (of length ``size``: tiles never extend past the image)."""
    if tile <= 0 or not 0 <= overlap < tile:
        raise ValueError(f"tile length {tile} with overlap {overlap}: need tile > 0 and 0 <= overlap < tile")
    if size <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def tile_grid(height: int, width: int, slice_size: tuple[int, int], overlap: float) -> list[Tile]:
    """Tiles covering a ``height`` x ``width`` image, row by row.

    Args:
        slice_size: ``(tile height, tile width)`` in pixels.
        overlap: overlap of neighbouring tiles as a fraction of the tile side, ``[0, 1)``; the
            overlap in pixels is ``int(overlap * side)`` (SAHI's rule).
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    th, tw = slice_size
    ys = tile_starts(height, th, int(overlap * th))
    xs = tile_starts(width, tw, int(overlap * tw))
    return [Tile(x, y, min(tw, width), min(th, height)) for y in ys for x in xs]


def parse_slice_size(value: int | Sequence[int] | str) -> tuple[int, int]:
    """``(height, width)`` from an int (a square), an ``(h, w)`` pair, or a string as image sizes
    are written on the command line: ``'1024'`` or ``'W'x'H'`` (``'1024x768'``: 1024 wide)."""
    if isinstance(value, str):
        parts = value.lower().replace("*", "x").split("x")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"slice size {value!r}: expected N or WxH, e.g. 1024 or 1024x768") from None
        if len(nums) == 1:
            size = (nums[0], nums[0])
        elif len(nums) == 2:
            size = (nums[1], nums[0])
        else:
            raise ValueError(f"slice size {value!r}: expected N or WxH, e.g. 1024 or 1024x768")
    elif isinstance(value, (int, np.integer)):
        size = (int(value), int(value))
    else:
        pair = tuple(int(v) for v in value)
        if len(pair) != 2:
            raise ValueError(f"slice_size must be an int or (height, width), got {value!r}")
        size = (pair[0], pair[1])
    if min(size) < 32:
        raise ValueError(f"slice size {size[1]}x{size[0]} (WxH) is too small: at least 32 pixels a side")
    return size


def check_merge_options(mode: str, match_metric: str) -> None:
    """Refuse an unknown merge mode or metric, or IoS with NMS, by name."""
    if mode not in MERGE_MODES:
        raise ValueError(f"merge mode must be one of {MERGE_MODES}, got {mode!r}")
    if match_metric not in MATCH_METRICS:
        raise ValueError(f"match_metric must be one of {MATCH_METRICS}, got {match_metric!r}")
    if mode == "nms" and match_metric != "iou":
        raise ValueError("match_metric='ios' needs merge mode 'nmm' (NMS compares boxes by IoU)")


@dataclass(frozen=True)
class SliceSettings:
    """How an image is cut and its tiles' detections merged.

    Attributes:
        slice_size: tile ``(height, width)`` in pixels (an int, ``(h, w)`` or ``'WxH'`` is parsed).
        overlap: overlap of neighbouring tiles, a fraction of the tile side, ``[0, 1)``.
        merge_iou_thr: detections of one class overlapping more than this are one object.
        full_image: also run the whole image at the test scale (objects larger than a tile).
        batch_size: tiles per forward pass.
        max_per_img: keep the best this many after merging; ``None`` keeps all.
        merge: ``'nms'`` (the model's NMS at ``merge_iou_thr``) or ``'nmm'`` (greedy merging).
        match_metric: ``'iou'``, or ``'ios'`` (intersection over the smaller box, ``'nmm'`` only).
    """

    slice_size: tuple[int, int] = (1024, 1024)
    overlap: float = 0.2
    merge_iou_thr: float = 0.5
    full_image: bool = True
    batch_size: int = 4
    max_per_img: int | None = None
    merge: str = "nms"
    match_metric: str = "iou"

    def __post_init__(self) -> None:
        object.__setattr__(self, "slice_size", parse_slice_size(self.slice_size))
        if not 0 <= self.overlap < 1:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap}")
        if int(self.batch_size) < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        check_merge_options(self.merge, self.match_metric)

    @classmethod
    def from_options(cls, **options: Any) -> SliceSettings:
        """Settings from keyword options, the defaults for the rest.

        Raises:
            TypeError: an option that is not a setting, by name.
            ValueError: a bad value, by name.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise TypeError(f"unknown sliced-inference option(s) {unknown}; they are {sorted(names)}")
        return cls(**options)

    def as_options(self) -> dict[str, Any]:
        """The settings as keyword options (for a config's ``SlicedDetector``)."""
        return dataclasses.asdict(self)
