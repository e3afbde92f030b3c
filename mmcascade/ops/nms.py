"""Greedy NMS and batched (per-class) NMS with mmcv's semantics, in torch.

:func:`nms` keeps, in descending score order, every box whose IoU with each box kept before it is
``<= iou_threshold`` -- mmcv's rule (``ovr > thr`` suppresses), with the same area formula
(``(x2 - x1 + offset) * (y2 - y1 + offset)``) and the same order of float operations, so the same
boxes are kept in the same order. The IoUs are computed in blocks of rows (vectorised, any device);
only the greedy scan over one block's boolean rows is sequential.

:func:`batched_nms` follows ``mmcv.ops.batched_nms``: classes are separated by shifting each class's
boxes by ``class_id * (max_coordinate + 1)`` (so IoU is computed on the shifted boxes, as there),
or NMS runs per class and results are re-sorted when there are ``split_thr`` boxes or more.
Because boxes of different classes never overlap after the shift, the torch path runs the greedy
scan per class, which gives the same result as one scan over all boxes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from .backend import mmcv_ops, resolve_impl
from .onnx_export import grouped_nms_onnx, is_exporting, ties_by_index

_BLOCK = 1024
TORCH_NMS_KEYS = (
    "type",
    "iou_threshold",
    "offset",
    "score_threshold",
    "max_num",
    "class_agnostic",
    "split_thr",
    "impl",
)


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
    order = scores.sort(dim=0, descending=True, stable=ties_by_index())[1]
    kept = np.zeros(boxes.shape[0], dtype=bool)
    if groups is None:
        kept[:] = _greedy_keep(boxes[order], iou_threshold, offset)
    else:
        sorted_groups = groups[order]
        for g in sorted_groups.unique().tolist():
            pos = torch.nonzero(sorted_groups == g).squeeze(1)  # ascending: still score order
            kept[pos.cpu().numpy()] = _greedy_keep(boxes[order[pos]], iou_threshold, offset)
    return order[torch.from_numpy(kept).to(order.device)]


def nms(
    boxes: Tensor,
    scores: Tensor,
    iou_threshold: float,
    offset: int = 0,
    score_threshold: float = 0.0,
    max_num: int = -1,
    impl: str = "auto",
) -> tuple[Tensor, Tensor]:
    """``mmcv.ops.nms``: ``dets (K, 5)`` (x1, y1, x2, y2, score) and ``keep (K,)`` indices into the input."""
    if resolve_impl(impl, boxes.device, "nms") == "mmcv":
        return mmcv_ops().nms(boxes, scores, iou_threshold, offset, score_threshold, max_num)
    valid = None
    if score_threshold > 0:
        valid = torch.nonzero(scores > score_threshold).squeeze(1)
        boxes, scores = boxes[valid], scores[valid]
    keep = nms_torch(boxes, scores, float(iou_threshold), int(offset))
    if max_num > 0:
        keep = keep[:max_num]
    dets = torch.cat([boxes[keep], scores[keep, None]], dim=1)
    return dets, (valid[keep] if valid is not None else keep)


def batched_nms(
    boxes: Tensor, scores: Tensor, idxs: Tensor, nms_cfg: dict[str, Any] | None, class_agnostic: bool = False
) -> tuple[Tensor, Tensor]:
    """``mmcv.ops.batched_nms``: NMS within each ``idxs`` value.

    Args:
        boxes: ``(N, 4)`` float xyxy. scores: ``(N,)``. idxs: ``(N,)`` int64 class (or level) ids.
        nms_cfg: ``dict(type='nms', iou_threshold=..., impl='auto', ...)``; ``None`` keeps everything
            (sorted by score). ``soft_nms`` needs mmcv's compiled ops.
        class_agnostic: one NMS over all boxes (``nms_cfg['class_agnostic']`` overrides it).

    Returns:
        ``dets (K, 5)`` sorted by score and ``keep (K,)`` indices into the input.
    """
    if nms_cfg is None:
        scores, inds = scores.sort(descending=True, stable=ties_by_index())
        return torch.cat([boxes[inds], scores[:, None]], -1), inds
    cfg = dict(nms_cfg)
    if is_exporting():
        return _batched_nms_onnx(boxes, scores, idxs, cfg, class_agnostic)
    impl = resolve_impl(cfg.pop("impl", "auto"), boxes.device, "nms")
    if ties_by_index() and cfg.get("type", "nms") == "nms":
        impl = "torch"  # mmcv's kernel ranks equal scores by torch.sort's order
    if boxes.shape[0] == 0:  # (mmcv's batched_nms fails on an empty set)
        return boxes.new_zeros((0, 5)), boxes.new_zeros((0,), dtype=torch.long)
    nms_type = cfg.get("type", "nms")
    if impl == "mmcv" or nms_type != "nms":
        if nms_type != "nms" and impl != "mmcv":
            resolve_impl("mmcv", boxes.device, f"nms type={nms_type!r}")  # raises, naming the missing build
        return mmcv_ops().batched_nms(boxes, scores, idxs, cfg, class_agnostic)
    check_nms_keys(cfg)
    return _batched_nms_torch(boxes, scores, idxs, cfg, class_agnostic)


def check_nms_keys(cfg: dict[str, Any]) -> None:
    """Refuse keys of an NMS config that the torch and exported paths do not read."""
    unknown = set(cfg) - set(TORCH_NMS_KEYS)
    if unknown:
        raise TypeError(f"nms got unknown keys {sorted(unknown)}; it reads {TORCH_NMS_KEYS}")


def _batched_nms_torch(
    boxes: Tensor, scores: Tensor, idxs: Tensor, cfg: dict[str, Any], class_agnostic: bool
) -> tuple[Tensor, Tensor]:
    """:func:`batched_nms` with the torch NMS: offset boxes per class (or one set), mmcv's
    ``split_thr`` path for large inputs. ``cfg`` holds only ``TORCH_NMS_KEYS`` (it is consumed)."""
    class_agnostic = cfg.pop("class_agnostic", class_agnostic)
    cfg.pop("type", None)
    split_thr = cfg.pop("split_thr", 10000)
    thr, offset = float(cfg.pop("iou_threshold")), int(cfg.pop("offset", 0))
    score_threshold, max_num = float(cfg.pop("score_threshold", 0.0)), int(cfg.pop("max_num", -1))
    if class_agnostic:
        boxes_for_nms = boxes
    else:
        if boxes.numel() == 0:
            boxes_for_nms = boxes
        else:
            shift = idxs.to(boxes) * (boxes.max() + torch.tensor(1).to(boxes))
            boxes_for_nms = boxes + shift[:, None]
    groups = None if class_agnostic else idxs
    if boxes_for_nms.shape[0] < split_thr:
        if score_threshold > 0:  # filter first (mmcv.ops.nms does), keep indices into the input
            valid = torch.nonzero(scores > score_threshold).squeeze(1)
            keep = valid[
                nms_torch(boxes_for_nms[valid], scores[valid], thr, offset, None if groups is None else groups[valid])
            ]
        else:
            keep = nms_torch(boxes_for_nms, scores, thr, offset, groups)
        if max_num > 0:
            keep = keep[:max_num]
        return torch.cat([boxes[keep], scores[keep, None]], -1), keep
    # mmcv's split path: per class, then one sort of the survivors by score.
    total = torch.zeros_like(scores, dtype=torch.bool)
    for cls in torch.unique(idxs):
        mask = torch.nonzero(idxs == cls).view(-1)
        _, keep_cls = nms(boxes_for_nms[mask], scores[mask], thr, offset, score_threshold, impl="torch")
        total[mask[keep_cls]] = True
    keep = torch.nonzero(total).view(-1)
    kept_scores, order = scores[keep].sort(descending=True, stable=ties_by_index())
    keep = keep[order]
    if max_num > 0:
        keep, kept_scores = keep[:max_num], kept_scores[:max_num]
    return torch.cat([boxes[keep], kept_scores[:, None]], -1), keep


def _batched_nms_onnx(
    boxes: Tensor, scores: Tensor, idxs: Tensor, cfg: dict[str, Any], class_agnostic: bool
) -> tuple[Tensor, Tensor]:
    """:func:`batched_nms` while the model is exported: one ONNX ``NonMaxSuppression`` node that
    keeps the boxes the torch path keeps (:func:`~mmcascade.ops.onnx_export.grouped_nms_onnx`)."""
    nms_type = cfg.pop("type", "nms")
    cfg.pop("impl", None)
    if nms_type != "nms":
        raise ValueError(f"nms type={nms_type!r} cannot be exported: ONNX has NonMaxSuppression only ('nms')")
    if int(cfg.get("offset", 0)) != 0:
        raise ValueError("nms offset=1 cannot be exported: ONNX NonMaxSuppression measures boxes as x2 - x1")
    check_nms_keys(cfg)
    # the number of groups is computed in the graph (a 0 is added so that no input is empty)
    num_groups = torch.nn.functional.pad(idxs, (0, 1)).max() + 1
    keep = grouped_nms_onnx(
        boxes,
        scores,
        idxs,
        num_groups,
        float(cfg["iou_threshold"]),
        float(cfg.get("score_threshold", 0.0)),
        bool(cfg.get("class_agnostic", class_agnostic)),
        int(cfg.get("split_thr", 10000)),
    )
    max_num = int(cfg.get("max_num", -1))
    if max_num > 0:
        keep = keep[:max_num]
    return torch.cat([boxes[keep], scores[keep, None]], -1), keep
