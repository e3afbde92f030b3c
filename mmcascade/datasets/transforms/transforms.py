"""Geometric transforms that keep boxes and masks consistent with the image."""

import random
from collections.abc import Sequence

import mmcv
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmcascade.registry import TRANSFORMS

from .gt_boxes import read_gt_boxes, write_gt_boxes


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
    """Resize image, boxes and masks as MMDetection's ``Resize``; record ``scale`` (the target
    ``(w, h)``), ``img_shape``, ``scale_factor (w, h)`` (the actual ratios, accumulated over
    resizes) and ``keep_ratio``.

    Args:
        scale: ``(w, h)`` target (an int: square), or with ``keep_ratio`` the ``(long, short)``
            bounds, e.g. (1333, 800).
        scale_factor: instead of ``scale``, a factor (or ``(w_factor, h_factor)``) of the image's
            own size.
        keep_ratio: keep the aspect ratio (default ``False``, as MMDetection).
        clip_object_border: clip boxes to the resized image.
        backend: ``'cv2'`` or ``'pillow'`` (mmcv's resize backends).
        interpolation: mmcv's interpolation name.
    """

    def __init__(
        self,
        scale: int | tuple[int, int] | None = None,
        scale_factor: float | tuple[float, float] | None = None,
        keep_ratio: bool = False,
        clip_object_border: bool = True,
        backend: str = "cv2",
        interpolation: str = "bilinear",
    ) -> None:
        if scale is None and scale_factor is None:
            raise ValueError("Resize: give scale or scale_factor")
        self.scale = (int(scale), int(scale)) if isinstance(scale, (int, float)) else (tuple(scale) if scale else None)
        if scale_factor is None or isinstance(scale_factor, (int, float)):
            self.scale_factor = None if scale_factor is None else (float(scale_factor), float(scale_factor))
        elif len(scale_factor) == 2:
            self.scale_factor = (float(scale_factor[0]), float(scale_factor[1]))
        else:
            raise ValueError(f"Resize: scale_factor must be a number or (w_factor, h_factor), got {scale_factor!r}")
        if backend not in ("cv2", "pillow"):
            raise ValueError(f"Resize: backend must be 'cv2' or 'pillow', got {backend!r}")
        self.keep_ratio = keep_ratio
        self.clip_object_border = clip_object_border
        self.backend = backend
        self.interpolation = interpolation

    def _target(self, results: dict) -> tuple[int, int]:
        if self.scale:
            return self.scale
        h, w = results["img"].shape[:2]
        return int(w * self.scale_factor[0] + 0.5), int(h * self.scale_factor[1] + 0.5)

    def transform(self, results: dict) -> dict:
        return self._resize(results, self._target(results))

    def _resize(self, results: dict, scale: tuple[int, int]) -> dict:
        img = results["img"]
        h, w = img.shape[:2]
        new_w, new_h = _rescaled_size(w, h, scale, self.keep_ratio)
        results["img"] = mmcv.imresize(img, (new_w, new_h), interpolation=self.interpolation, backend=self.backend)
        w_scale, h_scale = new_w / w, new_h / h
        results["scale"] = tuple(scale)
        results["img_shape"] = (new_h, new_w)
        prev = results.get("scale_factor", (1.0, 1.0))
        results["scale_factor"] = (prev[0] * w_scale, prev[1] * h_scale)
        results["keep_ratio"] = self.keep_ratio
        if "gt_bboxes" in results:
            boxes = read_gt_boxes(results)
            boxes.rescale_((w_scale, h_scale))
            if self.clip_object_border:
                boxes.clip_((new_h, new_w))
            write_gt_boxes(results, boxes)
        if "gt_masks" in results:
            results["gt_masks"] = results["gt_masks"].resize((new_h, new_w))
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(scale={self.scale}, scale_factor={self.scale_factor}, keep_ratio={self.keep_ratio})"
        )


@TRANSFORMS.register_module()
class RandomResize(Resize):
    """Resize to a scale drawn per image (multi-scale training), as mmcv's ``RandomResize``:
    with two scales, each of ``(w, h)`` drawn uniformly between the two scales' values (integers,
    ends included); with one scale and ``ratio_range``, the scale times a ratio drawn uniformly
    in that range. ``mode='choice'`` draws one of the listed scales instead
    (``RandomChoiceResize``). Other arguments are :class:`Resize`'s (``keep_ratio`` defaults to
    ``False`` as there)."""

    def __init__(
        self,
        scale: tuple[int, int] | Sequence[tuple[int, int]],
        ratio_range: tuple[float, float] | None = None,
        resize_type: str = "Resize",
        mode: str = "range",
        **kwargs,
    ) -> None:
        if resize_type not in ("Resize", "mmcascade.Resize"):
            raise ValueError(f"{type(self).__name__}: resize_type {resize_type!r} is not supported (only 'Resize')")
        if mode not in ("range", "choice"):
            raise ValueError(f"mode must be 'range' or 'choice', got {mode!r}")
        single = len(scale) == 2 and all(isinstance(v, (int, float)) for v in scale)
        if mode == "range" and single and ratio_range is None:
            raise ValueError(f"{type(self).__name__}: one scale {tuple(scale)} needs ratio_range")
        if mode == "range" and not single and (len(scale) != 2 or ratio_range is not None):
            raise ValueError(f"{type(self).__name__}: give two scales, or one scale with ratio_range; got {scale!r}")
        super().__init__(scale=(1, 1), **kwargs)
        self.scale = None
        self.scales = [tuple(scale)] if single else [tuple(s) for s in scale]
        self.ratio_range = tuple(ratio_range) if ratio_range is not None else None
        self.mode = mode

    @cache_randomness
    def _draw(self) -> tuple[int, int]:
        if self.mode == "choice":
            return random.choice(self.scales)
        if self.ratio_range is not None:
            lo, hi = self.ratio_range
            ratio = random.random() * (hi - lo) + lo
            return int(self.scales[0][0] * ratio), int(self.scales[0][1] * ratio)
        (a0, a1), (b0, b1) = self.scales
        return random.randint(min(a0, b0), max(a0, b0)), random.randint(min(a1, b1), max(a1, b1))

    def transform(self, results: dict) -> dict:
        return self._resize(results, self._draw())


FLIP_DIRECTIONS = ("horizontal", "vertical", "diagonal")


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Flip image, boxes and masks (``flip``, ``flip_direction`` recorded), as mmcv's RandomFlip.

    Args:
        prob: the probability of a flip. With several directions, a float is shared equally
            among them; a list gives each direction its own (their sum at most 1).
        direction: ``'horizontal'``, ``'vertical'``, ``'diagonal'`` (both), or a list of them.
    """

    def __init__(self, prob: float | Sequence[float] = 0.5, direction: str | Sequence[str] = "horizontal") -> None:
        directions = [direction] if isinstance(direction, str) else list(direction)
        bad = [d for d in directions if d not in FLIP_DIRECTIONS]
        if bad or not directions:
            raise ValueError(f"RandomFlip: direction must be one of {FLIP_DIRECTIONS} or a list, got {direction!r}")
        if isinstance(prob, (int, float)):
            probs = [float(prob) / len(directions)] * len(directions)
        else:
            probs = [float(p) for p in prob]
            if len(probs) != len(directions):
                raise ValueError(f"RandomFlip: {len(probs)} probabilities for {len(directions)} directions")
        if any(p < 0 for p in probs) or sum(probs) > 1 + 1e-9:
            raise ValueError(f"RandomFlip: prob {prob!r} must be in [0, 1] (a list: each >= 0, sum <= 1)")
        self.prob = prob
        self.direction = direction
        self._choices = list(zip(directions, probs))

    @cache_randomness
    def _choose(self) -> str | None:
        """One uniform draw: direction k when it falls in its slice of [0, 1), no flip after them."""
        u, edge = random.random(), 0.0
        for direction, p in self._choices:
            edge += p
            if u < edge:
                return direction
        return None

    def transform(self, results: dict) -> dict:
        direction = self._choose()
        results["flip"] = direction is not None
        results["flip_direction"] = direction
        if direction is not None:
            results = flip_results(results, direction)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prob={self.prob}, direction={self.direction!r})"


def flip_results(results: dict, direction: str) -> dict:
    """Mirror the image and its annotations (used by :class:`RandomFlip` and TTA); ``'diagonal'``
    mirrors both ways."""
    h, w = results["img"].shape[:2]
    results["img"] = mmcv.imflip(results["img"], direction=direction)
    if "gt_bboxes" in results:
        boxes = read_gt_boxes(results)
        boxes.flip_((h, w), direction)
        write_gt_boxes(results, boxes)
    if "gt_masks" in results:
        results["gt_masks"] = results["gt_masks"].flip(direction)
    return results


PADDING_MODES = ("constant", "edge", "reflect", "symmetric")


@TRANSFORMS.register_module()
class Pad(BaseTransform):
    """Pad the image (and masks) at the bottom and right, as MMDetection's ``Pad``: to ``size``
    ``(w, h)``, to a multiple of ``size_divisor``, or to a square of the longer side
    (``pad_to_square``, then rounded up to ``size_divisor`` if given). Records ``pad_shape``
    (``(h, w, c)``), ``pad_fixed_size``, ``pad_size_divisor`` and the padded ``img_shape``.

    Args:
        pad_val: the image's padding (a number or one per channel), or ``dict(img=..., masks=...,
            seg=...)``; masks are padded with ``pad_val['masks']`` (0).
        padding_mode: ``'constant'``, ``'edge'``, ``'reflect'`` or ``'symmetric'`` (the image;
            masks are always padded with their constant).
    """

    def __init__(
        self,
        size: tuple[int, int] | None = None,
        size_divisor: int | None = None,
        pad_to_square: bool = False,
        pad_val: float | Sequence[float] | dict = 0,
        padding_mode: str = "constant",
    ) -> None:
        if pad_to_square and size is not None:
            raise ValueError("Pad: pad_to_square decides the size; do not give size too")
        if not pad_to_square and (size is None) == (size_divisor is None):
            raise ValueError("Pad: give exactly one of size (w, h) and size_divisor (or pad_to_square)")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"Pad: padding_mode must be one of {PADDING_MODES}, got {padding_mode!r}")
        self.size = tuple(size) if size is not None else None
        self.size_divisor = size_divisor
        self.pad_to_square = pad_to_square
        self.pad_val = dict(pad_val) if isinstance(pad_val, dict) else dict(img=pad_val, seg=255)
        self.padding_mode = padding_mode

    def transform(self, results: dict) -> dict:
        img = results["img"]
        h, w = img.shape[:2]
        if self.pad_to_square:
            h = w = max(h, w)
        if self.size_divisor is not None:
            d = self.size_divisor
            pad_h, pad_w = -(-h // d) * d, -(-w // d) * d
        elif self.size is not None:
            pad_w, pad_h = self.size
        else:
            pad_h, pad_w = h, w
        value = self.pad_val.get("img", 0)
        if isinstance(value, (int, float)) and img.ndim == 3:
            value = (value,) * img.shape[2]
        results["img"] = mmcv.impad(img, shape=(pad_h, pad_w), pad_val=value, padding_mode=self.padding_mode)
        results["pad_shape"] = results["img"].shape
        results["pad_fixed_size"] = self.size
        results["pad_size_divisor"] = self.size_divisor
        results["img_shape"] = results["img"].shape[:2]
        if "gt_masks" in results:
            results["gt_masks"] = results["gt_masks"].pad((pad_h, pad_w), self.pad_val.get("masks", 0))
        return results
