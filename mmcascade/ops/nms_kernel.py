"""Greedy NMS in torch with mmcv's semantics (the kernel; :mod:`~mmcascade.ops.nms` dispatches).

:func:`nms_torch` keeps, in descending score order, every box whose IoU with each box kept before
it is ``<= iou_threshold`` -- mmcv's rule (``ovr > thr`` suppresses), with the same area formula
(``(x2 - x1 + offset) * (y2 - y1 + offset)``) and the same order of float operations, so the same
boxes are kept in the same order. The IoUs are computed in blocks of rows (vectorised, any device);
only the greedy scan over one block's boolean rows is sequential.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .tracing import sort_descending

_BLOCK = 1024


def _pairwise_overlap(a: Tensor, b: Tensor, area_a: Tensor, area_b: Tensor, offset: int) -> Tensor:
    """``(n, m)`` IoU of ``a (n, 4)`` with ``b (m, 4)``, float ops in mmcv's kernel order."""
    xx1 = torch.maximum(a[:, None, 0], b[None, :, 0])
    yy1 = torch.maximum(a[:, None, 1], b[None, :, 1])
    xx2 = torch.minimum(a[:, None, 2], b[None, :, 2])
    yy2 = torch.minimum(a[:, None, 3], b[None, :, 3])
    inter = (xx2 - xx1 + offset).clamp(min=0) * (yy2 - yy1 + offset).clamp(min=0)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def _greedy_keep(sorted_boxes: Tensor, iou_threshold: float, offset: int) -> np.ndarray:
    """``(n,)`` bool numpy: which of ``sorted_boxes (n, 4)`` (score-descending) greedy NMS keeps."""
    n = sorted_boxes.shape[0]
    areas = (sorted_boxes[:, 2] - sorted_boxes[:, 0] + offset) * (sorted_boxes[:, 3] - sorted_boxes[:, 1] + offset)
    removed = np.zeros(n, dtype=bool)
    kept = np.zeros(n, dtype=bool)
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        # Rows of this block against every box from the block on; columns before the block are decided.
        over = (
            (
                _pairwise_overlap(
                    sorted_boxes[start:stop], sorted_boxes[start:], areas[start:stop], areas[start:], offset
                )
                > iou_threshold
            )
            .cpu()
            .numpy()
        )
        tail = removed[start:]
        for i in range(stop - start):
            if tail[i]:
                continue
            kept[start + i] = True
            tail |= over[i]  # marks only boxes after i that are still open; earlier ones are decided
    return kept


def nms_torch(
    boxes: Tensor, scores: Tensor, iou_threshold: float, offset: int = 0, groups: Tensor | None = None
) -> Tensor:
    """Indices kept by greedy NMS, in descending score order.

    Args:
        boxes: ``(N, 4)`` float, xyxy.
        scores: ``(N,)`` float.
        iou_threshold: a box is dropped when its IoU with a kept, higher-scoring box is above this.
        offset: 0, or 1 for the legacy ``x2 - x1 + 1`` box size.
        groups: optional ``(N,)`` int64; boxes of different groups are known not to overlap (the scan
            then runs per group, which is faster and gives the same result).

    Returns:
        ``(K,)`` int64 indices into ``boxes``.
    """
    if boxes.shape[0] == 0:
        return boxes.new_zeros((0,), dtype=torch.long)
    order = sort_descending(scores)[1]
    kept = np.zeros(boxes.shape[0], dtype=bool)
    if groups is None:
        kept[:] = _greedy_keep(boxes[order], iou_threshold, offset)
    else:
        sorted_groups = groups[order]
        for g in sorted_groups.unique().tolist():
            pos = torch.nonzero(sorted_groups == g).squeeze(1)  # ascending: still score order
            kept[pos.cpu().numpy()] = _greedy_keep(boxes[order[pos]], iou_threshold, offset)
    return order[torch.from_numpy(kept).to(order.device)]
