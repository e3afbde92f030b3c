"""Boxes: pure functions on ``(N, 4)`` xyxy tensors (overlaps, RoIs, clipping, flipping) and the
box objects that data pipelines carry (:class:`HorizontalBoxes`, registered as ``'hbox'``).
MMDetection's module path ``mmdet.structures.bbox``."""

from .base_boxes import BaseBoxes
from .box_type import box_converters, box_types, convert_box_type, get_box_type, register_box, register_box_converter
from .horizontal_boxes import HorizontalBoxes
from .overlaps import OVERLAP_MODES, bbox_overlaps, box_area
from .transforms import (
    bbox2roi,
    cat_boxes,
    clip_boxes,
    empty_box_as,
    flip_boxes,
    get_box_tensor,
    get_box_wh,
    scale_boxes,
    stack_boxes,
    valid_box_mask,
)

__all__ = [
    "BaseBoxes",
    "HorizontalBoxes",
    "OVERLAP_MODES",
    "bbox2roi",
    "bbox_overlaps",
    "box_area",
    "box_converters",
    "box_types",
    "cat_boxes",
    "clip_boxes",
    "convert_box_type",
    "empty_box_as",
    "flip_boxes",
    "get_box_tensor",
    "get_box_type",
    "get_box_wh",
    "register_box",
    "register_box_converter",
    "scale_boxes",
    "stack_boxes",
    "valid_box_mask",
]
