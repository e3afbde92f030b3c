"""Boxes, masks and the per-image data sample."""

from .bbox import (
    BaseBoxes,
    HorizontalBoxes,
    bbox2roi,
    bbox_overlaps,
    box_area,
    clip_boxes,
    flip_boxes,
    scale_boxes,
    valid_box_mask,
)
from .coder import ImageSize, decode_deltas, encode_deltas
from .cropped_masks import CroppedMasks
from .det_data_sample import DetDataSample, SampleList, unpack_gt_instances
from .masks import BitmapMasks, paste_masks, paste_masks_cropped, paste_windows, segm_to_bitmap
from .polygon_masks import PolygonMasks

__all__ = [
    "BaseBoxes",
    "HorizontalBoxes",
    "bbox2roi",
    "bbox_overlaps",
    "box_area",
    "clip_boxes",
    "flip_boxes",
    "scale_boxes",
    "valid_box_mask",
    "ImageSize",
    "decode_deltas",
    "encode_deltas",
    "DetDataSample",
    "SampleList",
    "unpack_gt_instances",
    "BitmapMasks",
    "PolygonMasks",
    "CroppedMasks",
    "paste_masks",
    "paste_masks_cropped",
    "paste_windows",
    "segm_to_bitmap",
]
