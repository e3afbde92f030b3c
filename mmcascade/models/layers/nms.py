"""Per-class NMS of detections through :func:`mmcascade.ops.batched_nms`."""

import torch
from torch import Tensor

from mmcascade.ops import batched_nms


def finite_rows(*tensors: Tensor) -> Tensor:
    """``(N,)`` bool: rows that are finite in every given ``(N, ...)`` tensor."""
    keep = torch.ones(tensors[0].shape[0], dtype=torch.bool, device=tensors[0].device)
    for t in tensors:
        finite = torch.isfinite(t)
        keep = keep & (finite if t.dim() == 1 else finite.flatten(1).all(dim=1))
    return keep


def multiclass_nms(
    boxes: Tensor, scores: Tensor, score_thr: float, nms_cfg: dict, max_num: int = -1
) -> tuple[Tensor, Tensor]:
    """Score-threshold, then NMS each class separately.

    Args:
        boxes: ``(N, 4)`` class-agnostic or ``(N, 4 * C)`` per-class boxes, xyxy pixels.
        scores: ``(N, C + 1)`` probabilities; the last column is background and ignored.
        score_thr: keep (box, class) pairs scoring strictly above this.
        nms_cfg: e.g. ``dict(type='nms', iou_threshold=0.5)``.
        max_num: keep at most this many detections (all when negative).

    Returns:
        ``dets (K, 5)`` float (x1, y1, x2, y2, score) sorted by score, ``labels (K,)`` int64.
    """
    num_classes = scores.shape[1] - 1
    if boxes.shape[1] > 4:
        per_class = boxes.view(boxes.shape[0], -1, 4)
    else:
        per_class = boxes[:, None].expand(boxes.shape[0], num_classes, 4)
    cls_scores = scores[:, :-1]
    labels = torch.arange(num_classes, device=scores.device).view(1, -1).expand_as(cls_scores)
    flat_boxes = per_class.reshape(-1, 4)
    flat_scores = cls_scores.reshape(-1)
    flat_labels = labels.reshape(-1)
    valid = (flat_scores > score_thr) & finite_rows(flat_boxes, flat_scores)
    inds = valid.nonzero(as_tuple=False).squeeze(1)
    flat_boxes, flat_scores, flat_labels = flat_boxes[inds], flat_scores[inds], flat_labels[inds]
    dets, keep = batched_nms(flat_boxes, flat_scores, flat_labels, nms_cfg)
    if max_num > 0:
        dets, keep = dets[:max_num], keep[:max_num]
    return dets, flat_labels[keep]
