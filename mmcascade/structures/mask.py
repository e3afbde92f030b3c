"""MMDetection's module path ``mmdet.structures.mask``: the mask containers and mask helpers of
:mod:`mmcascade.structures.masks` under the name code written for MMDetection imports."""

from .cropped_masks import CroppedMasks
from .masks import BitmapMasks, paste_masks, segm_to_bitmap

__all__ = ["BitmapMasks", "CroppedMasks", "paste_masks", "segm_to_bitmap"]
