"""Axis-aligned boxes, ``'hbox'``: ``(..., 4)`` ``xyxy`` pixels, ``w = x2 - x1`` (no "+1")."""

from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor

from ..masks import BitmapMasks
from .base_boxes import BaseBoxes
from .box_type import register_box
from .overlaps import bbox_overlaps

FLIP_DIRECTIONS = ("horizontal", "vertical", "diagonal")


@register_box("hbox")
class HorizontalBoxes(BaseBoxes):
    """Axis-aligned boxes: ``(..., 4)`` float, ``(x1, y1, x2, y2)``, image pixels.

    Args:
        data: the boxes, as a tensor, array or nested sequence.
        dtype, device, clone: as :class:`BaseBoxes`.
        in_mode: layout of ``data``: ``'xyxy'`` (default) or ``'cxcywh'`` (converted to xyxy).
    """

    box_dim = 4

    def __init__(
        self,
        data: Tensor | np.ndarray | list[Any],
        dtype: torch.dtype | None = None,
        device: str | torch.device | None = None,
        clone: bool = True,
        in_mode: str | None = None,
    ) -> None:
        super().__init__(data=data, dtype=dtype, device=device, clone=clone)
        if in_mode not in (None, "xyxy", "cxcywh"):
            raise ValueError(f"in_mode must be 'xyxy' or 'cxcywh', got {in_mode!r}")
        if in_mode == "cxcywh":
            self.tensor = self.cxcywh_to_xyxy(self.tensor)

    # --- layouts ----------------------------------------------------------------------------
    @staticmethod
    def cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
        """``(..., 4)`` centre-size boxes to corner boxes."""
        ctr, wh = torch.split(boxes, [2, 2], dim=-1)
        return torch.cat([ctr - wh / 2, ctr + wh / 2], dim=-1)

    @staticmethod
    def xyxy_to_cxcywh(boxes: Tensor) -> Tensor:
        """``(..., 4)`` corner boxes to centre-size boxes."""
        xy1, xy2 = torch.split(boxes, [2, 2], dim=-1)
        return torch.cat([(xy1 + xy2) / 2, xy2 - xy1], dim=-1)

    @property
    def cxcywh(self) -> Tensor:
        """``(..., 4)`` the boxes as ``(cx, cy, w, h)``."""
        return self.xyxy_to_cxcywh(self.tensor)

    @staticmethod
    def hbox2corner(boxes: Tensor) -> Tensor:
        """``(..., 4)`` boxes to their ``(..., 4, 2)`` corners: top-left, top-right, bottom-left,
        bottom-right."""
        x1, y1, x2, y2 = boxes.unbind(dim=-1)
        corners = [torch.stack(p, dim=-1) for p in ((x1, y1), (x2, y1), (x1, y2), (x2, y2))]
        return torch.stack(corners, dim=-2)

    @staticmethod
    def corner2hbox(corners: Tensor) -> Tensor:
        """``(..., K, 2)`` points to the ``(..., 4)`` boxes enclosing them (empty input: ``(0, 4)``)."""
        if corners.numel() == 0:
            return corners.new_zeros((0, 4))
        return torch.cat([corners.min(dim=-2).values, corners.max(dim=-2).values], dim=-1)

    # --- measures ---------------------------------------------------------------------------
    @property
    def centers(self) -> Tensor:
        return (self.tensor[..., :2] + self.tensor[..., 2:]) / 2

    @property
    def areas(self) -> Tensor:
        return self.widths * self.heights

    @property
    def widths(self) -> Tensor:
        return self.tensor[..., 2] - self.tensor[..., 0]

    @property
    def heights(self) -> Tensor:
        return self.tensor[..., 3] - self.tensor[..., 1]

    # --- in-place geometry ------------------------------------------------------------------
    def flip_(self, img_shape: tuple[int, int], direction: str = "horizontal") -> None:
        if direction not in FLIP_DIRECTIONS:
            raise ValueError(f"flip direction must be one of {FLIP_DIRECTIONS}, got {direction!r}")
        src, dst = self.tensor.clone(), self.tensor
        h, w = img_shape[:2]
        if direction in ("horizontal", "diagonal"):
            dst[..., 0], dst[..., 2] = w - src[..., 2], w - src[..., 0]
        if direction in ("vertical", "diagonal"):
            dst[..., 1], dst[..., 3] = h - src[..., 3], h - src[..., 1]

    def translate_(self, distances: tuple[float, float]) -> None:
        if len(distances) != 2:
            raise ValueError(f"distances must be (dx, dy), got {distances!r}")
        self.tensor.add_(self.tensor.new_tensor(distances).repeat(2))

    def clip_(self, img_shape: tuple[int, int]) -> None:
        h, w = img_shape[:2]
        self.tensor[..., 0::2] = self.tensor[..., 0::2].clamp(0, w)
        self.tensor[..., 1::2] = self.tensor[..., 1::2].clamp(0, h)

    def rotate_(self, center: tuple[float, float], angle: float) -> None:
        # cv2's matrix turns counter-clockwise for positive angles; boxes turn the other way, as
        # MMDetection's do, so that they follow an image rotated by mmcv.imrotate(angle)
        matrix = self.tensor.new_tensor(cv2.getRotationMatrix2D(tuple(center), -angle, 1))
        self._map_corners(lambda pts: pts @ matrix[:, :2].T + matrix[:, 2])

    def project_(self, homography_matrix: Tensor | np.ndarray) -> None:
        matrix = torch.as_tensor(homography_matrix).to(self.tensor)
        if matrix.shape != (3, 3):
            raise ValueError(f"a homography is (3, 3), got {tuple(matrix.shape)}")

        def project(pts: Tensor) -> Tensor:
            homogeneous = torch.cat([pts, pts.new_ones(pts.shape[:-1] + (1,))], dim=-1)
            mapped = (matrix @ homogeneous.reshape(-1, 3).T).T.reshape(homogeneous.shape)
            return mapped[..., :2] / mapped[..., 2:3]

        self._map_corners(project)

    def _map_corners(self, fn: Any) -> None:
        corners = fn(self.hbox2corner(self.tensor))
        self.tensor = self.corner2hbox(corners).reshape(self.tensor.shape)

    def rescale_(self, scale_factor: tuple[float, float]) -> None:
        if len(scale_factor) != 2:
            raise ValueError(f"scale_factor must be (w_scale, h_scale), got {scale_factor!r}")
        self.tensor.mul_(self.tensor.new_tensor(scale_factor).repeat(2))

    def resize_(self, scale_factor: tuple[float, float]) -> None:
        if len(scale_factor) != 2:
            raise ValueError(f"scale_factor must be (w_scale, h_scale), got {scale_factor!r}")
        ctr = self.centers
        half = (self.tensor[..., 2:] - self.tensor[..., :2]) * self.tensor.new_tensor(scale_factor) / 2
        self.tensor = torch.cat([ctr - half, ctr + half], dim=-1)

    # --- tests against images and points ----------------------------------------------------
    def is_inside(self, img_shape: tuple[int, int], all_inside: bool = False, allowed_border: int = 0) -> Tensor:
        h, w = img_shape[:2]
        x1, y1, x2, y2 = self.tensor.unbind(dim=-1)
        b = allowed_border
        if all_inside:
            return (x1 >= -b) & (y1 >= -b) & (x2 < w + b) & (y2 < h + b)
        return (x1 < w + b) & (y1 < h + b) & (x2 > -b) & (y2 > -b)

    def find_inside_points(self, points: Tensor, is_aligned: bool = False) -> Tensor:
        boxes = self.tensor
        if boxes.dim() != 2:
            raise ValueError(f"find_inside_points needs (N, 4) boxes, got {tuple(boxes.shape)}")
        if not is_aligned:
            boxes, points = boxes[None], points[:, None]
        elif len(points) != len(boxes):
            raise ValueError(f"is_aligned needs as many points as boxes: {len(points)} and {len(boxes)}")
        x, y = points[..., 0], points[..., 1]
        return (x >= boxes[..., 0]) & (x <= boxes[..., 2]) & (y >= boxes[..., 1]) & (y <= boxes[..., 3])

    @staticmethod
    def overlaps(
        boxes1: BaseBoxes, boxes2: BaseBoxes, mode: str = "iou", is_aligned: bool = False, eps: float = 1e-6
    ) -> Tensor:
        """IoU / IoF / GIoU of two box objects (converted to horizontal boxes first)."""
        first, second = boxes1.convert_to("hbox"), boxes2.convert_to("hbox")
        return bbox_overlaps(first.tensor, second.tensor, mode=mode, is_aligned=is_aligned, eps=eps)

    # --- masks ------------------------------------------------------------------------------
    @staticmethod
    def from_instance_masks(masks: Any) -> "HorizontalBoxes":
        """Tight boxes of instance masks: a ``BitmapMasks`` (``x2`` one past the last set column)
        or a ``PolygonMasks`` (the extremes of the polygons' points); an empty mask gives zeros."""
        if hasattr(masks, "polygon_extents"):
            return HorizontalBoxes(masks.polygon_extents(), dtype=torch.float32, clone=False)
        data = getattr(masks, "masks", None)
        if not isinstance(data, np.ndarray):
            raise TypeError(f"masks must be BitmapMasks or PolygonMasks, got {type(masks).__name__}")
        boxes = np.zeros((len(data), 4), dtype=np.float32)
        for i, mask in enumerate(data):
            cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
            if len(cols) and len(rows):
                boxes[i] = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
        return HorizontalBoxes(boxes, clone=False)

    def create_masks(self, img_shape: tuple[int, int]) -> BitmapMasks:
        """One ``(height, width)`` bitmap per box, set inside the box (corners truncated to int)."""
        h, w = img_shape[:2]
        boxes = self.numpy().reshape(-1, 4)
        masks = np.zeros((len(boxes), h, w), dtype=np.uint8)
        for mask, (x1, y1, x2, y2) in zip(masks, boxes):
            mask[int(y1) : int(y2), int(x1) : int(x2)] = 1
        return BitmapMasks(masks, h, w)
