"""Pure box transforms on ``(N, 4)`` float tensors, ``xyxy`` absolute pixels: RoI stacking,
clipping, scaling, flipping and validity. Each also takes a :class:`BaseBoxes` where MMDetection's
function of the same name does."""

from collections.abc import Sequence
from typing import overload

import torch
from torch import Tensor

from .base_boxes import BaseBoxes
from .horizontal_boxes import HorizontalBoxes

BoxesLike = Tensor | BaseBoxes


def get_box_tensor(boxes: BoxesLike) -> Tensor:
    """The ``(..., box_dim)`` tensor of a box object; a tensor is returned as it is."""
    return boxes.tensor if isinstance(boxes, BaseBoxes) else boxes


def empty_box_as(boxes: BoxesLike) -> BoxesLike:
    """``(0, box_dim)`` boxes of the same kind, dtype and device as ``boxes``."""
    if isinstance(boxes, BaseBoxes):
        return boxes.empty_boxes()
    return boxes.new_zeros(0, boxes.shape[-1])


def get_box_wh(boxes: BoxesLike) -> tuple[Tensor, Tensor]:
    """``(widths, heights)`` of xyxy tensors or of box objects."""
    if isinstance(boxes, BaseBoxes):
        return boxes.widths, boxes.heights
    return boxes[..., 2] - boxes[..., 0], boxes[..., 3] - boxes[..., 1]


def cat_boxes(data_list: Sequence[BoxesLike], dim: int = 0) -> BoxesLike:
    """Concatenate tensors, or box objects of one type, along ``dim``."""
    if data_list and isinstance(data_list[0], BaseBoxes):
        return type(data_list[0]).cat([b for b in data_list if isinstance(b, BaseBoxes)], dim=dim)
    return torch.cat([get_box_tensor(b) for b in data_list], dim=dim)


def stack_boxes(data_list: Sequence[BoxesLike], dim: int = 0) -> BoxesLike:
    """Stack tensors, or box objects of one type, along a new ``dim``."""
    if data_list and isinstance(data_list[0], BaseBoxes):
        return type(data_list[0]).stack([b for b in data_list if isinstance(b, BaseBoxes)], dim=dim)
    return torch.stack([get_box_tensor(b) for b in data_list], dim=dim)


def bbox2roi(boxes_per_image: Sequence[BoxesLike]) -> Tensor:
    """Stack per-image boxes (tensors or box objects) into RoIs ``(K, 5)``:
    ``(batch_idx, x1, y1, x2, y2)``."""
    rois = []
    for img_id, boxes in enumerate(map(get_box_tensor, boxes_per_image)):
        idx = boxes.new_full((boxes.shape[0], 1), float(img_id))
        rois.append(torch.cat([idx, boxes[:, :4]], dim=1))
    if not rois:
        return torch.zeros((0, 5))
    return torch.cat(rois, dim=0)


def clip_boxes(boxes: Tensor, img_shape: tuple[int, int]) -> Tensor:
    """Clip ``(..., 4)`` boxes to an image of ``(height, width)``; returns a new tensor."""
    h, w = img_shape[:2]
    x = boxes[..., 0::2].clamp(min=0, max=w)
    y = boxes[..., 1::2].clamp(min=0, max=h)
    return torch.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], dim=-1)


@overload
def scale_boxes(boxes: Tensor, scale_factor: tuple[float, float]) -> Tensor: ...
@overload
def scale_boxes(boxes: BaseBoxes, scale_factor: tuple[float, float]) -> BaseBoxes: ...
def scale_boxes(boxes: BoxesLike, scale_factor: tuple[float, float]) -> BoxesLike:
    """Multiply ``(N, 4k)`` boxes by ``(w_scale, h_scale)``; returns new boxes (a box object is
    rescaled in place and returned, as MMDetection's is)."""
    if isinstance(boxes, BaseBoxes):
        boxes.rescale_(scale_factor)
        return boxes
    factor = boxes.new_tensor(scale_factor).repeat(boxes.shape[-1] // 2)
    return boxes * factor


def flip_boxes(boxes: Tensor, img_shape: tuple[int, int], direction: str = "horizontal") -> Tensor:
    """Mirror ``(N, 4)`` xyxy boxes inside an image of ``(height, width)``: ``'horizontal'``,
    ``'vertical'`` or ``'diagonal'`` (both); returns a new tensor (:meth:`HorizontalBoxes.flip_`)."""
    flipped = HorizontalBoxes(boxes)
    flipped.flip_(img_shape, direction)
    return flipped.tensor


def valid_box_mask(boxes: Tensor, min_size: float = 0.0) -> Tensor:
    """``(N,)`` bool: finite boxes whose width and height exceed ``min_size``."""
    finite = torch.isfinite(boxes).all(dim=-1)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return finite & (w > min_size) & (h > min_size)
