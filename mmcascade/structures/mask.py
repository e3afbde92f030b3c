"""MMDetection's module path ``mmdet.structures.mask``: the mask containers and mask helpers of
:mod:`mmcascade.structures.masks` under the name code written for MMDetection imports."""

from .cropped_masks import CroppedMasks
from .masks import BitmapMasks, paste_masks, segm_to_bitmap
from .polygon_masks import PolygonMasks, polygons_to_bitmap

__all__ = ["BitmapMasks", "CroppedMasks", "PolygonMasks", "paste_masks", "polygons_to_bitmap", "segm_to_bitmap"]
