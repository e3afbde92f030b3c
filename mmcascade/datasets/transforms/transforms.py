"""Geometric transforms that keep boxes and masks consistent with the image."""

import random

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from mmcascade.registry import TRANSFORMS


def _rescaled_size(w: int, h: int, scale: tuple[int, int], keep_ratio: bool) -> tuple[int, int]:
    """Target ``(w, h)``: with ``keep_ratio`` the largest size whose long side is at most
    ``max(scale)`` and short side at most ``min(scale)``; never below one pixel a side (an image
    of extreme aspect ratio, 4000x2, keeps a 1-pixel side instead of vanishing).

    Raises:
        ValueError: an empty image (a side of 0 pixels).
    """
    if w <= 0 or h <= 0:
        raise ValueError(f"cannot resize an empty image of {w}x{h} pixels (width x height)")
    if not keep_ratio:
        return int(scale[0]), int(scale[1])
    long_edge, short_edge = max(scale), min(scale)
    factor = min(long_edge / max(h, w), short_edge / min(h, w))
    return max(1, int(w * factor + 0.5)), max(1, int(h * factor + 0.5))


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize image, boxes and masks; record ``img_shape`` and ``scale_factor (w, h)``.

    Args:
        scale: ``(w, h)`` target, or with ``keep_ratio`` the ``(long, short)`` bounds (1333, 800).
        keep_ratio: keep the aspect ratio.
        clip_object_border: clip boxes to the resized image.
    """

    def __init__(
        self,
        scale: tuple[int, int] | None = None,
        keep_ratio: bool = True,
        clip_object_border: bool = True,
        interpolation: str = "bilinear",
    ) -> None:
        self.scale = tuple(scale) if scale is not None else None
        self.keep_ratio = keep_ratio
        self.clip_object_border = clip_object_border
        self.interpolation = interpolation

    def transform(self, results: dict) -> dict:
        scale = results.get("scale", self.scale)
        img = results["img"]
        h, w = img.shape[:2]
        new_w, new_h = _rescaled_size(w, h, scale, self.keep_ratio)
        results["img"] = mmcv.imresize(img, (new_w, new_h), interpolation=self.interpolation)
        w_scale, h_scale = new_w / w, new_h / h
        results["img_shape"] = (new_h, new_w)
        prev = results.get("scale_factor", (1.0, 1.0))
        results["scale_factor"] = (prev[0] * w_scale, prev[1] * h_scale)
        results["keep_ratio"] = self.keep_ratio
        if "gt_bboxes" in results:
            boxes = results["gt_bboxes"] * np.array([w_scale, h_scale, w_scale, h_scale], dtype=np.float32)
            if self.clip_object_border:
                boxes[:, 0::2] = boxes[:, 0::2].clip(0, new_w)
                boxes[:, 1::2] = boxes[:, 1::2].clip(0, new_h)
            results["gt_bboxes"] = boxes
        if "gt_masks" in results:
            results["gt_masks"] = results["gt_masks"].resize((new_h, new_w))
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale={self.scale}, keep_ratio={self.keep_ratio})"


@TRANSFORMS.register_module()
class RandomResize(Resize):
    """Resize to a scale drawn per image: one of ``scale`` (a list of sizes) when
    ``mode='choice'``, or uniformly between two sizes when ``mode='range'`` (multi-scale training)."""

    def __init__(self, scale: list[tuple[int, int]], mode: str = "range", **kwargs) -> None:
        super().__init__(scale=None, **kwargs)
        if mode not in ("range", "choice"):
            raise ValueError(f"mode must be 'range' or 'choice', got {mode!r}")
        self.scales = [tuple(s) for s in scale]
        self.mode = mode

    def _draw(self) -> tuple[int, int]:
        if self.mode == "choice":
            return random.choice(self.scales)
        (a0, a1), (b0, b1) = self.scales[:2]
        long_edge = random.randint(min(max(a0, a1), max(b0, b1)), max(max(a0, a1), max(b0, b1)))
        short_edge = random.randint(min(min(a0, a1), min(b0, b1)), max(min(a0, a1), min(b0, b1)))
        return long_edge, short_edge

    def transform(self, results: dict) -> dict:
        results["scale"] = self._draw()
        out = super().transform(results)
        out.pop("scale", None)
        return out


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip image, boxes and masks with probability ``prob`` (``flip``, ``flip_direction`` recorded)."""

    def __init__(self, prob: float = 0.5, direction: str = "horizontal") -> None:
        if direction not in ("horizontal", "vertical"):
            raise ValueError(f"unsupported flip direction {direction!r}")
        self.prob = prob
        self.direction = direction

    def transform(self, results: dict) -> dict:
        flip = random.random() < self.prob
        results["flip"] = flip
        results["flip_direction"] = self.direction if flip else None
        if flip:
            results = flip_results(results, self.direction)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prob={self.prob}, direction={self.direction!r})"


def flip_results(results: dict, direction: str) -> dict:
    """Mirror the image and its annotations (used by :class:`RandomFlip` and TTA)."""
    h, w = results["img"].shape[:2]
    results["img"] = mmcv.imflip(results["img"], direction=direction)
    if "gt_bboxes" in results:
        boxes = results["gt_bboxes"].copy()
        if direction == "horizontal":
            boxes[:, 0], boxes[:, 2] = w - results["gt_bboxes"][:, 2], w - results["gt_bboxes"][:, 0]
        else:
            boxes[:, 1], boxes[:, 3] = h - results["gt_bboxes"][:, 3], h - results["gt_bboxes"][:, 1]
        results["gt_bboxes"] = boxes
    if "gt_masks" in results:
        results["gt_masks"] = results["gt_masks"].flip(direction)
    return results


@TRANSFORMS.register_module()
class Pad(BaseTransform):
    """Pad the image (and masks) at the bottom and right to ``size`` or a multiple of ``size_divisor``."""

    def __init__(
        self, size: tuple[int, int] | None = None, size_divisor: int | None = None, pad_val: float = 0
    ) -> None:
        if (size is None) == (size_divisor is None):
            raise ValueError("give exactly one of size (w, h) and size_divisor")
        self.size = size
        self.size_divisor = size_divisor
        self.pad_val = pad_val

    def transform(self, results: dict) -> dict:
        img = results["img"]
        h, w = img.shape[:2]
        if self.size is not None:
            pad_w, pad_h = self.size
        else:
            d = self.size_divisor
            pad_h, pad_w = -(-h // d) * d, -(-w // d) * d
        results["img"] = mmcv.impad(img, shape=(pad_h, pad_w), pad_val=self.pad_val)
        results["pad_shape"] = (pad_h, pad_w)
        if "gt_masks" in results:
            results["gt_masks"] = results["gt_masks"].pad((pad_h, pad_w))
        return results
