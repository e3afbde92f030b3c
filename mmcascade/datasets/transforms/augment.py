"""Training augmentations under MMDetection's names: colour distortion, random crop, annotation
filtering, and random choice / application of other transforms."""

import random
from collections.abc import Sequence

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms import RandomApply as _MMCVRandomApply
from mmcv.transforms import RandomChoice as _MMCVRandomChoice

from mmcascade.registry import TRANSFORMS

from .gt_boxes import read_gt_boxes, write_gt_boxes
from .transforms import RandomResize

CROP_TYPES = ("absolute", "absolute_range", "relative", "relative_range")


def _repr(obj, *names: str) -> str:
    """``Type(name=value, ...)`` of the named attributes."""
    return f"{type(obj).__name__}(" + ", ".join(f"{n}={getattr(obj, n)!r}" for n in names) + ")"


@TRANSFORMS.register_module()
class PhotoMetricDistortion(BaseTransform):
    """Random colour changes, each applied with probability 1/2, in this order: brightness
    (add ``U(-brightness_delta, brightness_delta)``), contrast (multiply by ``U(contrast_range)``;
    before or after the HSV steps, chosen at random), saturation (multiply S), hue (shift H by
    up to ``hue_delta`` degrees), and a random permutation of the channels.

    The image becomes float32 (values are not clipped), as in MMDetection; boxes and masks are
    unchanged.
    """

    def __init__(
        self,
        brightness_delta: int = 32,
        contrast_range: Sequence[float] = (0.5, 1.5),
        saturation_range: Sequence[float] = (0.5, 1.5),
        hue_delta: int = 18,
    ) -> None:
        self.brightness_delta = brightness_delta
        self.contrast_range = tuple(contrast_range)
        self.saturation_range = tuple(saturation_range)
        self.contrast_lower, self.contrast_upper = self.contrast_range
        self.saturation_lower, self.saturation_upper = self.saturation_range
        self.hue_delta = hue_delta

    def transform(self, results: dict) -> dict:
        img = results["img"].astype(np.float32)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(
                f"PhotoMetricDistortion needs a 3-channel BGR image, got shape {img.shape} ({results.get('img_path')})"
            )
        coin = lambda: random.random() < 0.5  # noqa: E731
        contrast_first = coin()
        if coin():
            img += random.uniform(-self.brightness_delta, self.brightness_delta)
        if contrast_first and coin():
            img *= random.uniform(self.contrast_lower, self.contrast_upper)
        do_saturation, do_hue = coin(), coin()
        if do_saturation or do_hue:
            hsv = mmcv.bgr2hsv(img)  # float32: H in degrees [0, 360), S in [0, 1]
            if do_saturation:
                hsv[..., 1] *= random.uniform(self.saturation_lower, self.saturation_upper)
            if do_hue:
                hsv[..., 0] = np.mod(hsv[..., 0] + random.uniform(-self.hue_delta, self.hue_delta), 360.0)
            img = mmcv.hsv2bgr(hsv)
        if not contrast_first and coin():
            img *= random.uniform(self.contrast_lower, self.contrast_upper)
        if coin():
            img = img[..., np.random.permutation(3)]
        results["img"] = np.ascontiguousarray(img)
        return results

    def __repr__(self) -> str:
        return _repr(self, "brightness_delta", "contrast_range", "saturation_range", "hue_delta")


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop a random window; keep the boxes (and their masks) that still have area in it.

    Args:
        crop_size: as MMDetection 3: ``(w, h)`` pixels (``'absolute'``), a ``[min, max]`` pixel
            range for both sides (``'absolute_range'``), ``(w, h)`` fractions of the image
            (``'relative'``), or ``(h_min, w_min)`` fractions, each side drawn uniformly between
            its minimum and 1 (``'relative_range'``: MMDetection reads this one height first).
        allow_negative_crop: keep a crop that contains no box; otherwise the sample is
            skipped (the dataset draws another), as MMDetection does.
        recompute_bbox: make each box the tight box of its cropped mask.
        bbox_clip_border: clip boxes to the crop (boxes are kept when they overlap it).
    """

    def __init__(
        self,
        crop_size: Sequence,
        crop_type: str = "absolute",
        allow_negative_crop: bool = False,
        recompute_bbox: bool = False,
        bbox_clip_border: bool = True,
    ) -> None:
        if crop_type not in CROP_TYPES:
            raise ValueError(f"RandomCrop: crop_type must be one of {CROP_TYPES}, got {crop_type!r}")
        size = tuple(crop_size)
        if crop_type in ("absolute", "absolute_range") and not (len(size) == 2 and all(int(v) > 0 for v in size)):
            raise ValueError(f"RandomCrop: crop_size {crop_size} must be two positive integers for {crop_type!r}")
        if crop_type == "absolute_range" and size[0] > size[1]:
            raise ValueError(f"RandomCrop: crop_size {crop_size} is a [min, max] range for 'absolute_range'")
        if crop_type == "relative" and not all(0 < float(v) <= 1 for v in size):
            raise ValueError(f"RandomCrop: relative crop_size {crop_size} must lie in (0, 1]")
        if crop_type == "relative_range" and not all(0 < float(v) <= 1 for v in size):
            raise ValueError(f"RandomCrop: relative_range crop_size {crop_size} must lie in (0, 1]")
        self.crop_size = size
        self.crop_type = crop_type
        self.allow_negative_crop = allow_negative_crop
        self.recompute_bbox = recompute_bbox
        self.bbox_clip_border = bbox_clip_border

    def _crop_hw(self, h: int, w: int) -> tuple[int, int]:
        if self.crop_type == "absolute":
            return min(int(self.crop_size[1]), h), min(int(self.crop_size[0]), w)
        if self.crop_type == "absolute_range":
            lo, hi = int(self.crop_size[0]), int(self.crop_size[1])
            return random.randint(min(h, lo), min(h, hi)), random.randint(min(w, lo), min(w, hi))
        if self.crop_type == "relative":
            rw, rh = (float(v) for v in self.crop_size)
        else:
            rh, rw = (float(v) + random.random() * (1 - float(v)) for v in self.crop_size)
        return max(1, int(h * rh + 0.5)), max(1, int(w * rw + 0.5))

    def transform(self, results: dict) -> dict | None:
        img = results["img"]
        h, w = img.shape[:2]
        crop_h, crop_w = self._crop_hw(h, w)
        y1, x1 = random.randint(0, h - crop_h), random.randint(0, w - crop_w)
        window = np.array([x1, y1, x1 + crop_w, y1 + crop_h])
        results["img"] = img[y1 : y1 + crop_h, x1 : x1 + crop_w]
        results["img_shape"] = (crop_h, crop_w)
        if "gt_bboxes" in results:
            boxes = read_gt_boxes(results)
            boxes.translate_((-x1, -y1))
            if self.bbox_clip_border:
                boxes.clip_((crop_h, crop_w))
            inside = ((boxes.widths > 0) & (boxes.heights > 0) & boxes.is_inside((crop_h, crop_w))).numpy().reshape(-1)
            if not inside.any() and not self.allow_negative_crop:
                return None
            keep = np.flatnonzero(inside)
            write_gt_boxes(results, boxes[keep])
            for key in ("gt_bboxes_labels", "gt_ignore_flags"):
                if key in results:
                    results[key] = results[key][keep]
            if "gt_masks" in results:
                results["gt_masks"] = results["gt_masks"][keep].crop(window)
                if self.recompute_bbox:
                    write_gt_boxes(results, results["gt_masks"].get_bboxes())
        return results

    def __repr__(self) -> str:
        return _repr(self, "crop_size", "crop_type", "allow_negative_crop", "recompute_bbox", "bbox_clip_border")


@TRANSFORMS.register_module()
class FilterAnnotations(BaseTransform):
    """Drop ground truth too small to learn from: boxes whose width and height are not both
    larger than ``min_gt_bbox_wh`` (``by_box``), masks with fewer than ``min_gt_mask_area``
    pixels (``by_mask``). ``keep_empty`` has MMDetection's meaning: with ``True`` (the default)
    an image whose boxes are all filtered out is skipped (the dataset draws another); with
    ``False`` it is kept with no ground truth. An image that had no boxes to begin with is kept
    either way."""

    def __init__(
        self,
        min_gt_bbox_wh: Sequence[float] = (1.0, 1.0),
        min_gt_mask_area: int = 1,
        by_box: bool = True,
        by_mask: bool = False,
        keep_empty: bool = True,
    ) -> None:
        if not (by_box or by_mask):
            raise ValueError("FilterAnnotations: at least one of by_box and by_mask must be True")
        self.min_gt_bbox_wh = tuple(min_gt_bbox_wh)
        self.min_gt_mask_area = min_gt_mask_area
        self.by_box = by_box
        self.by_mask = by_mask
        self.keep_empty = keep_empty

    def transform(self, results: dict) -> dict | None:
        if "gt_bboxes" not in results:
            return results
        boxes = read_gt_boxes(results)
        keep = np.ones(len(boxes), dtype=bool)
        if self.by_box:
            keep &= ((boxes.widths > self.min_gt_bbox_wh[0]) & (boxes.heights > self.min_gt_bbox_wh[1])).numpy()
        if self.by_mask:
            if "gt_masks" not in results:
                raise KeyError(
                    f"FilterAnnotations(by_mask=True) needs masks: load them with "
                    f"LoadAnnotations(with_mask=True) ({results.get('img_path')})"
                )
            keep &= results["gt_masks"].areas >= self.min_gt_mask_area
        if len(boxes) and not keep.any() and self.keep_empty:
            return None
        idx = np.flatnonzero(keep)
        for key in ("gt_bboxes", "gt_bboxes_labels", "gt_ignore_flags"):
            if key in results:
                results[key] = results[key][idx]
        if "gt_masks" in results:
            results["gt_masks"] = results["gt_masks"][idx]
        return results

    def __repr__(self) -> str:
        return _repr(self, "min_gt_bbox_wh", "min_gt_mask_area", "by_box", "by_mask", "keep_empty")


@TRANSFORMS.register_module()
class RandomChoiceResize(RandomResize):
    """Resize to one of ``scales``, drawn per image (multi-scale training, MMDetection's
    ``RandomChoiceResize``); the other arguments are :class:`Resize`'s."""

    def __init__(self, scales: Sequence[Sequence[int]], resize_type: str = "Resize", **resize_kwargs) -> None:
        if resize_type not in ("Resize", "mmcascade.Resize"):
            raise ValueError(f"RandomChoiceResize: resize_type {resize_type!r} is not supported (only 'Resize')")
        super().__init__(scale=[tuple(s) for s in scales], mode="choice", **resize_kwargs)


@TRANSFORMS.register_module()
class RandomChoice(_MMCVRandomChoice):
    """Apply one of ``transforms`` (each a list of transform configs), drawn with ``prob``;
    the configs are built in this toolbox's registry."""


@TRANSFORMS.register_module()
class RandomApply(_MMCVRandomApply):
    """Apply ``transforms`` with probability ``prob``; the configs are built in this toolbox's
    registry."""
