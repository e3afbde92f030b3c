"""Pure box operations. Boxes are ``(N, 4)`` float tensors, ``xyxy`` absolute pixels,
with no "+1" in widths: ``w = x2 - x1``.
"""

from collections.abc import Sequence

import torch
from torch import Tensor

_EPS = 1e-6


def box_area(boxes: Tensor) -> Tensor:
    """Areas of ``(..., 4)`` xyxy boxes, shape ``(...)``; degenerate boxes may be negative."""
    return (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])


OVERLAP_MODES = ("iou", "iof", "ios", "giou")


def bbox_overlaps(
    boxes1: Tensor, boxes2: Tensor, mode: str = "iou", is_aligned: bool = False, eps: float = _EPS
) -> Tensor:
    """IoU, IoF (intersection over the area of ``boxes1``), IoS (intersection over the smaller of
    the two areas: one box inside another scores 1, as sliced inference merges) or GIoU, of every
    pair, or of the boxes in the same row (``is_aligned``). MMDetection's ``bbox_overlaps``
    (plus ``'ios'``), with the same values.

    Args:
        boxes1: ``(..., M, 4)`` float, xyxy pixels (leading batch dimensions allowed).
        boxes2: ``(..., N, 4)`` float, xyxy pixels; ``N == M`` when ``is_aligned``.
        mode: ``'iou'``, ``'iof'``, ``'ios'`` or ``'giou'``.
        is_aligned: overlaps of ``boxes1[i]`` with ``boxes2[i]`` only.
        eps: lower bound of the denominators, so empty boxes give 0, not NaN.

    Returns:
        ``(..., M, N)`` float overlaps (``(..., M)`` when aligned), in ``[0, 1]`` (GIoU in ``[-1, 1]``).
    """
    if mode not in OVERLAP_MODES:
        raise ValueError(f"mode must be one of {OVERLAP_MODES}, got {mode!r}")
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if boxes.shape[-1] not in (0, 4):
            raise ValueError(f"{name} must be (..., 4) xyxy boxes, got shape {tuple(boxes.shape)}")
    rows, cols = boxes1.shape[-2], boxes2.shape[-2]
    if is_aligned and rows != cols:
        raise ValueError(f"is_aligned needs as many boxes in both: {rows} and {cols}")
    batch = boxes1.shape[:-2]
    if rows * cols == 0:
        return boxes1.new_zeros(batch + ((rows,) if is_aligned else (rows, cols)))
    area1, area2 = box_area(boxes1), box_area(boxes2)
    if is_aligned:
        first, second = boxes1, boxes2
        a1, a2 = area1, area2
    else:
        first, second = boxes1[..., :, None, :], boxes2[..., None, :, :]
        a1, a2 = area1[..., :, None], area2[..., None, :]
    lt = torch.max(first[..., :2], second[..., :2])
    rb = torch.min(first[..., 2:], second[..., 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    if mode in ("iou", "giou"):
        denom = a1 + a2 - overlap
    elif mode == "ios":
        denom = torch.minimum(a1, a2)
    else:
        denom = a1.expand_as(overlap)
    denom = denom.clamp(min=eps)
    ious = overlap / denom
    if mode != "giou":
        return ious
    enclose_wh = (torch.max(first[..., 2:], second[..., 2:]) - torch.min(first[..., :2], second[..., :2])).clamp(min=0)
    enclose = (enclose_wh[..., 0] * enclose_wh[..., 1]).clamp(min=eps)
    return ious - (enclose - denom) / enclose


def bbox2roi(boxes_per_image: Sequence[Tensor]) -> Tensor:
    """Stack per-image boxes into RoIs ``(K, 5)``: ``(batch_idx, x1, y1, x2, y2)``."""
    rois = []
    for img_id, boxes in enumerate(boxes_per_image):
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


def scale_boxes(boxes: Tensor, scale_factor: tuple[float, float]) -> Tensor:
    """Multiply ``(N, 4k)`` boxes by ``(w_scale, h_scale)``; returns a new tensor."""
    factor = boxes.new_tensor(scale_factor).repeat(boxes.shape[-1] // 2)
    return boxes * factor


def flip_boxes(boxes: Tensor, img_shape: tuple[int, int], direction: str = "horizontal") -> Tensor:
    """Mirror ``(N, 4)`` xyxy boxes inside an image of ``(height, width)``: ``'horizontal'``,
    ``'vertical'`` or ``'diagonal'`` (both)."""
    if direction not in ("horizontal", "vertical", "diagonal"):
        raise ValueError(f"unknown flip direction {direction!r}")
    h, w = img_shape[:2]
    flipped = boxes.clone()
    if direction in ("horizontal", "diagonal"):
        flipped[:, 0] = w - boxes[:, 2]
        flipped[:, 2] = w - boxes[:, 0]
    if direction in ("vertical", "diagonal"):
        flipped[:, 1] = h - boxes[:, 3]
        flipped[:, 3] = h - boxes[:, 1]
    return flipped


def valid_box_mask(boxes: Tensor, min_size: float = 0.0) -> Tensor:
    """``(N,)`` bool: finite boxes whose width and height exceed ``min_size``."""
    finite = torch.isfinite(boxes).all(dim=-1)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    return finite & (w > min_size) & (h > min_size)
