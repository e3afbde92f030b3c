"""Instance masks kept as polygons (``LoadAnnotations(poly2mask=False)``), MMDetection's
``PolygonMasks``: each instance is a list of polygons, each a flat float64 array
``[x0, y0, x1, y1, ...]`` in image pixels. Geometry moves the points; :meth:`to_ndarray` and the
mask targets rasterise them with pycocotools (as COCO's own masks are rasterised)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
import torch
from torch import Tensor

from .masks import BitmapMasks

Polygons = list[np.ndarray]


def polygons_to_bitmap(polygons: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """``(height, width)`` uint8 bitmap of one instance's polygons (pycocotools, merged)."""
    rles = mask_utils.frPyObjects([np.asarray(p, dtype=np.float64) for p in polygons], height, width)
    return mask_utils.decode(mask_utils.merge(rles)).astype(np.uint8)


def _clip_to_window(points: np.ndarray, x1: float, y1: float, x2: float, y2: float) -> np.ndarray:
    """``(K, 2)`` polygon clipped to the rectangle (Sutherland-Hodgman, one edge at a time): the
    part inside; where the polygon leaves and re-enters, the clipped outline runs along the edge."""
    for axis, bound, keep_above in ((0, x1, True), (0, x2, False), (1, y1, True), (1, y2, False)):
        if len(points) == 0:
            break
        inside = points[:, axis] >= bound if keep_above else points[:, axis] <= bound
        out = []
        for i in range(len(points)):
            cur, prev = points[i], points[i - 1]
            if inside[i] != inside[i - 1]:
                t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                out.append(prev + t * (cur - prev))
            if inside[i]:
                out.append(cur)
        points = np.asarray(out, dtype=np.float64).reshape(-1, 2)
    return points


class PolygonMasks:
    """``N`` instances' polygons in an image of ``height x width``.

    Args:
        masks: per instance a list of flat ``(2K,)`` arrays (``K >= 3`` points).
        height, width: the image's size.
    """

    def __init__(self, masks: Sequence[Sequence[np.ndarray]], height: int, width: int) -> None:
        if not isinstance(masks, (list, tuple)):
            raise TypeError(f"PolygonMasks takes a list of instances, got {type(masks).__name__}")
        if masks and not isinstance(masks[0], (list, tuple)):
            raise TypeError("PolygonMasks: each instance is a list of polygons (flat arrays of x, y)")
        self.masks: list[Polygons] = [[np.asarray(p, dtype=np.float64) for p in inst] for inst in masks]
        self.height, self.width = int(height), int(width)

    def _new(self, masks: list[Polygons], height: int | None = None, width: int | None = None) -> PolygonMasks:
        return PolygonMasks(masks, self.height if height is None else height, self.width if width is None else width)

    def _map(self, fn: Any, height: int | None = None, width: int | None = None) -> PolygonMasks:
        """Apply ``fn(xs, ys) -> (xs, ys)`` to every polygon's points."""
        out = []
        for inst in self.masks:
            moved = []
            for p in inst:
                xs, ys = fn(p[0::2].copy(), p[1::2].copy())
                q = np.empty_like(p)
                q[0::2], q[1::2] = xs, ys
                moved.append(q)
            out.append(moved)
        return self._new(out, height, width)

    # --- container --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.masks)

    def __getitem__(self, index: int | slice | list[int] | np.ndarray | Tensor) -> PolygonMasks:
        if isinstance(index, Tensor):
            index = index.cpu().numpy()
        if isinstance(index, np.ndarray):
            index = np.flatnonzero(index).tolist() if index.dtype == bool else index.reshape(-1).tolist()
        if isinstance(index, list):
            return self._new([self.masks[i] for i in index])
        if isinstance(index, slice):
            return self._new(self.masks[index])
        return self._new([self.masks[int(index)]])

    def __iter__(self) -> Iterator[Polygons]:
        return iter(self.masks)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_masks={len(self)}, height={self.height}, width={self.width})"

    @classmethod
    def cat(cls, masks_list: Sequence[PolygonMasks]) -> PolygonMasks:
        if not masks_list:
            raise ValueError("PolygonMasks.cat needs at least one PolygonMasks")
        first = masks_list[0]
        return cls([inst for m in masks_list for inst in m.masks], first.height, first.width)

    # --- geometry -----------------------------------------------------------------------------
    def rescale(self, scale: float | tuple[int, int], interpolation: str | None = None) -> PolygonMasks:
        """Scale keeping the aspect ratio, by a factor or to fit ``(long, short)`` edges (the
        image's ``mmcv.imrescale``)."""
        new_w, new_h = mmcv.rescale_size((self.width, self.height), scale)
        return self.resize((new_h, new_w))

    def resize(self, out_shape: tuple[int, int], interpolation: str | None = None) -> PolygonMasks:
        """Scale the points to an image of ``(height, width)``."""
        h_scale, w_scale = out_shape[0] / self.height, out_shape[1] / self.width
        return self._map(lambda xs, ys: (xs * w_scale, ys * h_scale), *out_shape)

    def flip(self, flip_direction: str = "horizontal") -> PolygonMasks:
        """Mirror: ``'horizontal'``, ``'vertical'`` or ``'diagonal'`` (``x -> width - x``...)."""
        if flip_direction not in ("horizontal", "vertical", "diagonal"):
            raise ValueError(f"PolygonMasks.flip: unknown direction {flip_direction!r}")
        fx = flip_direction in ("horizontal", "diagonal")
        fy = flip_direction in ("vertical", "diagonal")
        return self._map(lambda xs, ys: (self.width - xs if fx else xs, self.height - ys if fy else ys))

    def translate(
        self,
        out_shape: tuple[int, int],
        offset: float,
        direction: str = "horizontal",
        border_value: Any = None,
        interpolation: Any = None,
    ) -> PolygonMasks:
        """Shift by ``offset`` pixels along ``direction`` into an ``out_shape`` image, points
        clipped to it."""
        h, w = out_shape
        if direction == "horizontal":
            return self._map(lambda xs, ys: (np.clip(xs + offset, 0, w), ys), h, w)
        if direction == "vertical":
            return self._map(lambda xs, ys: (xs, np.clip(ys + offset, 0, h)), h, w)
        raise ValueError(f"PolygonMasks.translate: direction must be 'horizontal' or 'vertical', got {direction!r}")

    def expand(self, expanded_h: int, expanded_w: int, top: int, left: int) -> PolygonMasks:
        """Place the image at ``(top, left)`` of a larger canvas."""
        return self._map(lambda xs, ys: (xs + left, ys + top), expanded_h, expanded_w)

    def pad(self, out_shape: tuple[int, int], pad_val: int = 0) -> PolygonMasks:
        """A larger image, padded at the bottom and right: the points stay."""
        return self._new(self.masks, *out_shape)

    def crop(self, bbox: np.ndarray) -> PolygonMasks:
        """The part inside ``bbox = (x1, y1, x2, y2)`` (clipped to the image), in the crop's
        pixels; an instance with nothing inside keeps a zero-area polygon (its box stays aligned)."""
        x1, y1, x2, y2 = np.asarray(bbox, dtype=np.float64).copy()
        x1, x2 = np.clip([x1, x2], 0, self.width)
        y1, y2 = np.clip([y1, y2], 0, self.height)
        w, h = int(max(x2 - x1, 1)), int(max(y2 - y1, 1))
        out = []
        for inst in self.masks:
            kept = []
            for p in inst:
                clipped = _clip_to_window(p.reshape(-1, 2), x1, y1, x2, y2)
                if len(clipped) >= 3 and _area(clipped) > 0:
                    kept.append((clipped - (x1, y1)).reshape(-1))
            out.append(kept or [np.zeros(6)])
        return PolygonMasks(out, h, w)

    # --- measures and conversions ---------------------------------------------------------------
    def get_bboxes(self, dst_type: str = "hbox") -> np.ndarray:
        """``(N, 4)`` float32 xyxy extremes of each instance's points (zeros when empty)."""
        if dst_type != "hbox":
            raise ValueError(f"PolygonMasks.get_bboxes: only 'hbox' boxes, got {dst_type!r}")
        return self.polygon_extents()

    def polygon_extents(self) -> np.ndarray:
        boxes = np.zeros((len(self), 4), dtype=np.float32)
        for i, inst in enumerate(self.masks):
            pts = np.concatenate([p for p in inst if p.size]) if inst else np.zeros(0)
            if pts.size:
                xs, ys = pts[0::2], pts[1::2]
                boxes[i] = (xs.min(), ys.min(), xs.max(), ys.max())
        return boxes

    @property
    def areas(self) -> np.ndarray:
        """``(N,)`` float: each instance's polygon areas summed (the shoelace formula)."""
        return np.array([sum(_area(p.reshape(-1, 2)) for p in inst) for inst in self.masks], dtype=np.float64)

    def to_bitmap(self) -> BitmapMasks:
        return BitmapMasks(self.to_ndarray(), self.height, self.width)

    def to_ndarray(self) -> np.ndarray:
        """``(N, height, width)`` uint8 bitmaps."""
        if not self.masks:
            return np.zeros((0, self.height, self.width), dtype=np.uint8)
        return np.stack([polygons_to_bitmap(inst, self.height, self.width) for inst in self.masks])

    def to_tensor(self, dtype: torch.dtype = torch.uint8, device: str | torch.device = "cpu") -> Tensor:
        return torch.from_numpy(self.to_ndarray()).to(dtype=dtype, device=device)

    def crop_and_resize(self, boxes: Tensor, out_size: int, inds: Tensor) -> Tensor:
        """Mask targets: instance ``inds[k]``'s polygons inside ``boxes[k]`` scaled to
        ``out_size x out_size`` and rasterised; ``(K, out_size, out_size)`` float32 of 0 and 1
        (MMDetection's polygon targets; pycocotools clips to the square)."""
        if boxes.shape[0] == 0 or len(self) == 0:
            return boxes.new_zeros((0, out_size, out_size))
        rois = boxes.detach().cpu().numpy()
        targets = []
        for (x1, y1, x2, y2), i in zip(rois, inds.cpu().tolist()):
            w_scale = out_size / max(np.maximum(x2 - x1, 1), 0.1)
            h_scale = out_size / max(np.maximum(y2 - y1, 1), 0.1)
            moved = []
            for p in self.masks[i]:
                q = p.copy()
                q[0::2] = (q[0::2] - x1) * w_scale
                q[1::2] = (q[1::2] - y1) * h_scale
                moved.append(q)
            targets.append(polygons_to_bitmap(moved, out_size, out_size))
        return torch.from_numpy(np.stack(targets)).to(device=boxes.device, dtype=torch.float32)


def _area(points: np.ndarray) -> float:
    """Area of a ``(K, 2)`` polygon (shoelace; absolute)."""
    x, y = points[:, 0], points[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))
