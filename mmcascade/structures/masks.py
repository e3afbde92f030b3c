"""Instance masks: a bitmap container, polygon/RLE rasterisation, mask targets and pasting."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import mmcv
import numpy as np
import pycocotools.mask as mask_utils
import torch
import torch.nn.functional as F
from torch import Tensor

from mmcascade.ops import roi_align

from .cropped_masks import CroppedMasks


def segm_to_bitmap(segm: list[list[float]] | dict[str, Any], height: int, width: int) -> np.ndarray:
    """Rasterise a COCO segmentation (polygons, RLE or uncompressed RLE) to ``(H, W)`` uint8."""
    if isinstance(segm, list):
        rles = mask_utils.frPyObjects(segm, height, width)
        rle = mask_utils.merge(rles)
    elif isinstance(segm.get("counts"), list):
        rle = mask_utils.frPyObjects(segm, height, width)
    else:
        rle = segm
    return mask_utils.decode(rle).astype(np.uint8)


class BitmapMasks:
    """``N`` binary masks of one image, ``(N, H, W)`` uint8. Operations return new objects."""

    def __init__(self, masks: np.ndarray | Sequence[np.ndarray], height: int, width: int) -> None:
        if len(masks) == 0:
            self.masks = np.zeros((0, height, width), dtype=np.uint8)
        else:
            self.masks = np.ascontiguousarray(np.stack(list(masks)).astype(np.uint8))
            if self.masks.shape[1:] != (height, width):
                raise ValueError(f"masks of shape {self.masks.shape[1:]} != ({height}, {width})")
        self.height = height
        self.width = width

    def __len__(self) -> int:
        return self.masks.shape[0]

    def __getitem__(self, index: Tensor | np.ndarray | slice | int) -> BitmapMasks:
        if isinstance(index, Tensor):
            index = index.cpu().numpy()
        picked = self.masks[index].reshape(-1, self.height, self.width)
        return BitmapMasks(picked, self.height, self.width)

    def __repr__(self) -> str:
        return f"BitmapMasks(num_masks={len(self)}, height={self.height}, width={self.width})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(masks)``: the ``(N, H, W)`` uint8 array (``to_ndarray``)."""
        return self.masks if dtype is None else self.masks.astype(dtype)

    def __iter__(self) -> Iterator[np.ndarray]:
        """Each mask as an ``(H, W)`` uint8 array."""
        return iter(self.masks)

    def to_ndarray(self) -> np.ndarray:
        """The ``(N, H, W)`` uint8 array."""
        return self.masks

    @classmethod
    def cat(cls, masks_list: Sequence[BitmapMasks]) -> BitmapMasks:
        h, w = masks_list[0].height, masks_list[0].width
        return cls(np.concatenate([m.masks for m in masks_list]), h, w)

    def resize(self, out_shape: tuple[int, int], interpolation: str = "nearest") -> BitmapMasks:
        """Resize to ``(height, width)`` (mmcv's ``imresize``; nearest-neighbour by default)."""
        h, w = out_shape
        if len(self) == 0:
            return BitmapMasks([], h, w)
        out = [mmcv.imresize(m, (w, h), interpolation=interpolation) for m in self.masks]
        return BitmapMasks(out, h, w)

    def rescale(self, scale: float | tuple[int, int], interpolation: str = "nearest") -> BitmapMasks:
        """Resize keeping the aspect ratio: by a factor, or to fit ``(long, short)`` edges
        (mmcv's ``imrescale``)."""
        if len(self) == 0:
            new_w, new_h = mmcv.rescale_size((self.width, self.height), scale)
            return BitmapMasks([], new_h, new_w)
        out = np.stack([mmcv.imrescale(m, scale, interpolation=interpolation) for m in self.masks])
        return BitmapMasks(out, out.shape[1], out.shape[2])

    def expand(self, expanded_h: int, expanded_w: int, top: int, left: int) -> BitmapMasks:
        """Place the masks at ``(top, left)`` of a larger empty canvas."""
        out = np.zeros((len(self), expanded_h, expanded_w), dtype=np.uint8)
        out[:, top : top + self.height, left : left + self.width] = self.masks
        return BitmapMasks(out, expanded_h, expanded_w)

    def translate(
        self,
        out_shape: tuple[int, int],
        offset: float,
        direction: str = "horizontal",
        border_value: int = 0,
        interpolation: str = "bilinear",
    ) -> BitmapMasks:
        """Shift by ``offset`` pixels along ``direction`` into an ``out_shape`` canvas (mmcv's
        ``imtranslate``); what moves in is ``border_value``."""
        if len(self) == 0:
            return BitmapMasks([], *out_shape)
        masks = self.masks
        if masks.shape[1:] != tuple(out_shape):
            canvas = np.zeros((len(self), *out_shape), dtype=np.uint8)
            h, w = min(out_shape[0], self.height), min(out_shape[1], self.width)
            canvas[:, :h, :w] = masks[:, :h, :w]
            masks = canvas
        moved = mmcv.imtranslate(
            masks.transpose(1, 2, 0), offset, direction, border_value=border_value, interpolation=interpolation
        )
        moved = moved[:, :, None] if moved.ndim == 2 else moved
        return BitmapMasks(moved.transpose(2, 0, 1).astype(np.uint8), *out_shape)

    def flip(self, direction: str = "horizontal") -> BitmapMasks:
        """Mirror: ``'horizontal'`` left-right, ``'vertical'`` up-down, ``'diagonal'`` both."""
        axes = {"horizontal": (2,), "vertical": (1,), "diagonal": (1, 2)}
        if direction not in axes:
            raise ValueError(f"BitmapMasks.flip: direction must be one of {tuple(axes)}, got {direction!r}")
        return BitmapMasks(np.flip(self.masks, axis=axes[direction]), self.height, self.width)

    def crop(self, box: np.ndarray) -> BitmapMasks:
        """The pixels inside ``box`` = ``(x1, y1, x2, y2)`` int, clipped to the image."""
        x1, y1, x2, y2 = (int(v) for v in box)
        x1, x2 = max(0, min(x1, self.width)), max(0, min(x2, self.width))
        y1, y2 = max(0, min(y1, self.height)), max(0, min(y2, self.height))
        h, w = max(y2 - y1, 0), max(x2 - x1, 0)
        return BitmapMasks(self.masks[:, y1 : y1 + h, x1 : x1 + w].reshape(len(self), h, w), h, w)

    def get_bboxes(self) -> np.ndarray:
        """Tight ``(N, 4)`` float32 xyxy boxes of the masks (zeros for an empty mask)."""
        boxes = np.zeros((len(self), 4), dtype=np.float32)
        for i, m in enumerate(self.masks):
            ys, xs = np.nonzero(m)
            if xs.size:
                boxes[i] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
        return boxes

    def pad(self, out_shape: tuple[int, int], pad_val: int = 0) -> BitmapMasks:
        """Pad with ``pad_val`` at the bottom and right to ``(height, width)``."""
        h, w = out_shape
        out = np.full((len(self), h, w), pad_val, dtype=np.uint8)
        out[:, : self.height, : self.width] = self.masks
        return BitmapMasks(out, h, w)

    def to_tensor(self, dtype: torch.dtype = torch.uint8, device: str | torch.device = "cpu") -> Tensor:
        return torch.from_numpy(self.masks).to(dtype=dtype, device=device)

    @property
    def areas(self) -> np.ndarray:
        """``(N,)`` pixels of each mask (a property, as MMDetection's)."""
        return self.masks.sum(axis=(1, 2))

    def crop_and_resize(self, boxes: Tensor, out_size: int, inds: Tensor) -> Tensor:
        """Cut ``out_size`` square targets from masks ``inds`` inside ``boxes`` (RoIAlign, aligned).

        Args:
            boxes: ``(K, 4)`` float, xyxy pixels of this image.
            out_size: side of the targets (28 for FCNMaskHead).
            inds: ``(K,)`` long, which mask each box is cut from.

        Returns:
            ``(K, out_size, out_size)`` float32 binary targets (``>= 0.5`` of the average).
        """
        device = boxes.device
        if boxes.shape[0] == 0 or len(self) == 0:
            return boxes.new_zeros((0, out_size, out_size))
        masks = torch.from_numpy(self.masks).to(device).index_select(0, inds.to(device)).float()
        batch_idx = torch.arange(boxes.shape[0], device=device, dtype=torch.float32)[:, None]
        rois = torch.cat([batch_idx, boxes.float()], dim=1)
        targets = roi_align(masks[:, None], rois, (out_size, out_size), 1.0, 0, "avg", True)
        return (targets.squeeze(1) >= 0.5).float()


def paste_windows(
    mask_probs: Tensor, boxes: Tensor, img_shape: tuple[int, int], threshold: float = 0.5
) -> Iterator[tuple[int, tuple[int, int], Tensor]]:
    """Binarised per-box masks, each resampled only inside its own box's window of the image.

    Args:
        mask_probs: ``(N, h, w)`` float probabilities in box coordinates.
        boxes: ``(N, 4)`` float, xyxy pixels of the output image.
        img_shape: ``(height, width)`` of the output image.
        threshold: binarisation threshold.

    Yields:
        ``(i, (x, y), patch)`` for every box ``i`` whose window (the box grown by one pixel,
        clipped to the image) is not empty: the window's top-left pixel and ``patch``
        ``(wh, ww)`` bool on the probabilities' device.
    """
    img_h, img_w = int(img_shape[0]), int(img_shape[1])
    for i in range(mask_probs.shape[0]):
        x0, y0, x1, y1 = (float(v) for v in boxes[i])
        xa = max(int(np.floor(min(x0, x1))) - 1, 0)
        ya = max(int(np.floor(min(y0, y1))) - 1, 0)
        xb = min(int(np.ceil(x1)) + 1, img_w)
        yb = min(int(np.ceil(y1)) + 1, img_h)
        if xb <= xa or yb <= ya:
            continue
        yield i, (xa, ya), _resample_in_box(mask_probs[i], (x0, y0, x1, y1), (xa, ya, xb, yb)) >= threshold


def paste_masks(mask_probs: Tensor, boxes: Tensor, img_shape: tuple[int, int], threshold: float = 0.5) -> Tensor:
    """Paste per-box mask probabilities into full-image binary masks (:func:`paste_windows`):
    ``(N, height, width)`` bool, one full-size mask per instance."""
    img_h, img_w = int(img_shape[0]), int(img_shape[1])
    out = torch.zeros((mask_probs.shape[0], img_h, img_w), dtype=torch.bool, device=mask_probs.device)
    for i, (x, y), patch in paste_windows(mask_probs, boxes, img_shape, threshold):
        out[i, y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    return out


def paste_masks_cropped(
    mask_probs: Tensor, boxes: Tensor, img_shape: tuple[int, int], threshold: float = 0.5
) -> CroppedMasks:
    """The masks of :func:`paste_masks` kept inside their windows (:class:`CroppedMasks`):
    memory follows the boxes, not the image; ``.to_bitmaps()`` gives :func:`paste_masks`'s result."""
    n = mask_probs.shape[0]
    crops: list[np.ndarray] = [np.zeros((0, 0), dtype=bool)] * n
    origins = np.zeros((n, 2), dtype=np.int64)
    for i, (x, y), patch in paste_windows(mask_probs, boxes, img_shape, threshold):
        crops[i] = patch.cpu().numpy()
        origins[i] = (x, y)
    return CroppedMasks(crops, origins, int(img_shape[0]), int(img_shape[1]))


def _resample_in_box(prob: Tensor, box: tuple[float, float, float, float], window: tuple[int, int, int, int]) -> Tensor:
    """Sample ``prob`` (h, w) at the pixel centres of ``window`` mapped into ``box``."""
    x0, y0, x1, y1 = box
    xa, ya, xb, yb = window
    ys = torch.arange(ya, yb, device=prob.device, dtype=torch.float32) + 0.5
    xs = torch.arange(xa, xb, device=prob.device, dtype=torch.float32) + 0.5
    ys = (ys - y0) / (y1 - y0) * 2 - 1
    xs = (xs - x0) / (x1 - x0) * 2 - 1
    ys = torch.where(torch.isinf(ys), torch.zeros_like(ys), ys)
    xs = torch.where(torch.isinf(xs), torch.zeros_like(xs), xs)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]
    sampled = F.grid_sample(prob[None, None].float(), grid, align_corners=False)
    return sampled[0, 0]
