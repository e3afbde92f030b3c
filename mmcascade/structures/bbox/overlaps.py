"""Areas and pairwise overlaps of boxes: ``(..., 4)`` float tensors, ``xyxy`` absolute pixels,
with no "+1" in widths: ``w = x2 - x1``.
"""

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
