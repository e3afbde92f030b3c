"""Instance masks of a large image held compactly: each mask only inside its own window.

``N`` full-size boolean masks of a 10000x10000 image take 100 MB each; a detection's mask is
non-zero only near its box. :class:`CroppedMasks` keeps, per instance, the boolean crop of its
window and the window's top-left pixel in the image, so memory follows the detections, not the
image. Turning them into ``(N, H, W)`` bitmaps is an explicit call (:meth:`CroppedMasks.to_bitmaps`);
COCO RLE (:meth:`CroppedMasks.to_rle`) is computed from the crops without any full-size array.

Frames: ``origins`` are ``(x, y)`` integer pixels of the image the masks belong to
(``height`` x ``width``); pixel ``(r, c)`` of crop ``i`` is image pixel
``(origins[i, 1] + r, origins[i, 0] + c)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pycocotools.mask as mask_utils
import torch
from torch import Tensor

Index = int | slice | Sequence[int] | np.ndarray | Tensor
FULL_ARRAY_LIMIT = 2**30
"""Bytes above which an implicit conversion of all masks to one ``(N, H, W)`` array
(``np.asarray``, ``.numpy()``) is refused, naming :meth:`CroppedMasks.to_rle` and
:meth:`CroppedMasks.to_bitmaps` (which always converts)."""


class CroppedMasks:
    """``N`` binary masks of one ``(height, width)`` image, each stored inside its window.

    Args:
        crops: ``N`` arrays ``(h_i, w_i)`` bool (numpy, or CPU tensors), the window contents.
        origins: ``(N, 2)`` int, ``(x, y)`` of each window's top-left pixel in the image.
        height: image height in pixels.
        width: image width in pixels.

    Windows may extend past the image border; the part outside is ignored by every method.
    Operations return new objects; the crops themselves are shared, never written.
    """

    def __init__(self, crops: Sequence[np.ndarray | Tensor], origins: Any, height: int, width: int) -> None:
        self.crops = [_as_bool_array(c) for c in crops]
        self.origins = np.asarray(origins, dtype=np.int64).reshape(len(self.crops), 2)
        self.height = int(height)
        self.width = int(width)

    # ------------------------------------------------------------------ container protocol
    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, index: Index) -> CroppedMasks | np.ndarray:
        """An int gives one full-size ``(H, W)`` bool mask, as indexing ``(N, H, W)`` bitmaps does;
        a slice, an int / bool array or a tensor of them gives those masks as a new object."""
        if isinstance(index, Tensor):
            index = index.cpu().numpy()
        if isinstance(index, (int, np.integer)) or (isinstance(index, np.ndarray) and index.ndim == 0):
            return self.mask(int(index))
        if isinstance(index, slice):
            picked = list(range(len(self)))[index]
        else:
            arr = np.asarray(index)
            picked = np.flatnonzero(arr).tolist() if arr.dtype == bool else arr.astype(np.int64).reshape(-1).tolist()
        return CroppedMasks([self.crops[i] for i in picked], self.origins[picked], self.height, self.width)

    @staticmethod
    def cat(masks_list: Sequence[CroppedMasks]) -> CroppedMasks:
        """Masks of several objects of the same image size, in order."""
        if not masks_list:
            raise ValueError("CroppedMasks.cat needs at least one CroppedMasks")
        h, w = masks_list[0].height, masks_list[0].width
        if any((m.height, m.width) != (h, w) for m in masks_list):
            sizes = sorted({(m.height, m.width) for m in masks_list})
            raise ValueError(f"CroppedMasks.cat: masks of different image sizes {sizes}")
        crops = [c for m in masks_list for c in m.crops]
        origins = np.concatenate([m.origins for m in masks_list]) if crops else np.zeros((0, 2))
        return CroppedMasks(crops, origins, h, w)

    def __repr__(self) -> str:
        return f"CroppedMasks(num_masks={len(self)}, height={self.height}, width={self.width})"

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(N, H, W)``, the shape :meth:`to_bitmaps` returns."""
        return (len(self), self.height, self.width)

    def cpu(self) -> CroppedMasks:
        """Itself: the crops always live in host memory."""
        return self

    def __iter__(self) -> Iterator[np.ndarray]:
        """Each mask as a full-size ``(H, W)`` bool array, one at a time."""
        return (self.mask(i) for i in range(len(self)))

    def mask(self, i: int) -> np.ndarray:
        """Mask ``i`` (negative counts from the end) as a full-size ``(H, W)`` bool array.

        Raises:
            IndexError: ``i`` is outside ``[-N, N)``.
        """
        if not -len(self) <= i < len(self):
            raise IndexError(f"mask index {i} is out of range for {len(self)} masks")
        out = np.zeros((self.height, self.width), dtype=bool)
        crop, x, y = self.visible(i % len(self))
        out[y : y + crop.shape[0], x : x + crop.shape[1]] = crop
        return out

    def numpy(self) -> np.ndarray:
        """``(N, H, W)`` bool array of the full-size masks, as ``bitmaps.cpu().numpy()`` gives.

        Raises:
            MemoryError: the array would take more than :data:`FULL_ARRAY_LIMIT` bytes.
        """
        nbytes = len(self) * self.height * self.width
        if nbytes > FULL_ARRAY_LIMIT:
            raise MemoryError(
                f"{len(self)} full-size masks of {self.height}x{self.width} pixels would take "
                f"{nbytes / 2**30:.1f} GiB as one array (more than the {FULL_ARRAY_LIMIT / 2**30:.0f} GiB "
                "converted implicitly): keep them compact with masks.to_rle() (COCO RLE), take one with "
                "masks[i], or convert on purpose with masks.to_bitmaps()"
            )
        return self.to_bitmaps().numpy()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(masks)``: :meth:`numpy` (refused above :data:`FULL_ARRAY_LIMIT` bytes)."""
        arr = self.numpy()
        return arr if dtype is None else arr.astype(dtype)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_bitmaps(cls, masks: np.ndarray | Tensor) -> CroppedMasks:
        """Crop ``(N, H, W)`` bool masks to the tight window of their non-zero pixels
        (an empty mask becomes a ``(0, 0)`` crop)."""
        arr = masks.detach().cpu().numpy() if isinstance(masks, Tensor) else np.asarray(masks)
        n, h, w = arr.shape
        crops, origins = [], []
        for m in arr.astype(bool, copy=False):
            rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            if rows.size == 0:
                crops.append(np.zeros((0, 0), dtype=bool))
                origins.append((0, 0))
                continue
            y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
            crops.append(m[y0:y1, x0:x1].copy())
            origins.append((x0, y0))
        return cls(crops, np.asarray(origins, dtype=np.int64).reshape(n, 2), h, w)

    # ------------------------------------------------------------------ conversions
    def visible(self, i: int) -> tuple[np.ndarray, int, int]:
        """Crop ``i`` cut to the image, with its top-left ``(x, y)`` inside the image."""
        crop = self.crops[i]
        x, y = (int(v) for v in self.origins[i])
        h, w = crop.shape
        xa, ya = max(x, 0), max(y, 0)
        xb, yb = min(x + w, self.width), min(y + h, self.height)
        if xb <= xa or yb <= ya:
            return np.zeros((0, 0), dtype=bool), 0, 0
        return crop[ya - y : yb - y, xa - x : xb - x], xa, ya

    def to_bitmaps(self, device: str | torch.device = "cpu") -> Tensor:
        """``(N, H, W)`` bool tensor: the full-size masks (memory N x H x W bytes)."""
        out = torch.zeros((len(self), self.height, self.width), dtype=torch.bool)
        for i in range(len(self)):
            crop, x, y = self.visible(i)
            if crop.size:
                out[i, y : y + crop.shape[0], x : x + crop.shape[1]] = torch.from_numpy(np.ascontiguousarray(crop))
        return out.to(device)

    def to_rle(self) -> list[dict[str, Any]]:
        """COCO RLE per mask (``size [H, W]``, compressed ``counts`` as str, json-ready), equal to
        ``pycocotools.mask.encode`` of the full-size bitmap but computed from the crop alone."""
        rles = []
        for i in range(len(self)):
            crop, x, y = self.visible(i)
            # Column-major (Fortran) indices of the set pixels, ascending: column by column.
            cols, rows = np.nonzero(crop.T)
            flat = (cols.astype(np.int64) + x) * self.height + (rows.astype(np.int64) + y)
            counts = _run_lengths(flat, self.height * self.width)
            rle = mask_utils.frPyObjects({"size": [self.height, self.width], "counts": counts}, self.height, self.width)
            rle["counts"] = rle["counts"].decode()
            rles.append(rle)
        return rles

    @property
    def areas(self) -> np.ndarray:
        """``(N,)`` int64 pixel count of each mask inside the image (a property, as
        :class:`BitmapMasks`')."""
        return np.array([int(self.visible(i)[0].sum()) for i in range(len(self))], dtype=np.int64)

    # ------------------------------------------------------------------ geometry
    def translate(self, dx: int, dy: int, height: int, width: int) -> CroppedMasks:
        """The same masks placed ``(dx, dy)`` pixels further right and down in an image of
        ``height`` x ``width`` (a tile's masks moved into the full image)."""
        return CroppedMasks(self.crops, self.origins + np.array([[int(dx), int(dy)]]), height, width)

    def flip(self, direction: str = "horizontal") -> CroppedMasks:
        """Mirror the masks in the image (``'horizontal'``: left-right, ``'vertical'``: up-down,
        ``'diagonal'``: both)."""
        if direction == "diagonal":
            return self.flip("horizontal").flip("vertical")
        if direction not in ("horizontal", "vertical"):
            raise ValueError(
                f"CroppedMasks.flip: direction must be horizontal, vertical or diagonal, got {direction!r}"
            )
        crops, origins = [], self.origins.copy()
        for i, crop in enumerate(self.crops):
            h, w = crop.shape
            if direction == "horizontal":
                crops.append(crop[:, ::-1])
                origins[i, 0] = self.width - (origins[i, 0] + w)
            else:
                crops.append(crop[::-1])
                origins[i, 1] = self.height - (origins[i, 1] + h)
        return CroppedMasks(crops, origins, self.height, self.width)

    def union(self, index: Sequence[int]) -> CroppedMasks:
        """One mask: the pixel-wise OR of the masks at ``index``, in the window covering them all."""
        parts = [self.visible(i) for i in index]
        parts = [p for p in parts if p[0].size]
        if not parts:
            return CroppedMasks([np.zeros((0, 0), dtype=bool)], [[0, 0]], self.height, self.width)
        xa = min(x for _, x, _ in parts)
        ya = min(y for _, _, y in parts)
        xb = max(x + c.shape[1] for c, x, _ in parts)
        yb = max(y + c.shape[0] for c, _, y in parts)
        out = np.zeros((yb - ya, xb - xa), dtype=bool)
        for crop, x, y in parts:
            out[y - ya : y - ya + crop.shape[0], x - xa : x - xa + crop.shape[1]] |= crop
        return CroppedMasks([out], [[xa, ya]], self.height, self.width)


def _as_bool_array(crop: np.ndarray | Tensor) -> np.ndarray:
    arr = crop.detach().cpu().numpy() if isinstance(crop, Tensor) else np.asarray(crop)
    if arr.ndim != 2:
        raise ValueError(f"CroppedMasks: each crop must be 2-D (h, w), got shape {arr.shape}")
    if any(stride < 0 for stride in arr.strides):  # a flipped view: torch cannot wrap it
        arr = arr.copy()
    return arr if arr.dtype == bool else arr.astype(bool)


def _run_lengths(flat: np.ndarray, total: int) -> list[int]:
    """Uncompressed COCO RLE counts (zeros first) of a mask with set pixels at the ascending
    column-major indices ``flat`` among ``total`` pixels."""
    if flat.size == 0:
        return [total]
    breaks = np.flatnonzero(np.diff(flat) != 1)
    starts = np.concatenate([flat[:1], flat[breaks + 1]])
    ends = np.concatenate([flat[breaks], flat[-1:]]) + 1
    counts = np.empty(2 * starts.size + 1, dtype=np.int64)
    counts[0] = starts[0]
    counts[1::2] = ends - starts
    counts[2:-1:2] = starts[1:] - ends[:-1]
    counts[-1] = total - ends[-1]
    return counts[:-1].tolist() if counts[-1] == 0 else counts.tolist()  # as pycocotools: no empty last run
