"""NMS and batched (per-class) NMS: mmcv's kernels, the torch kernel (:mod:`~mmcascade.ops.nms_kernel`)
or, while the model is exported, one ONNX ``NonMaxSuppression`` node (:mod:`~mmcascade.ops.onnx_symbolic`).

:func:`batched_nms` follows ``mmcv.ops.batched_nms``: classes are separated by shifting each class's
boxes by ``class_id * (max_coordinate + 1)`` (so IoU is computed on the shifted boxes, as there),
or NMS runs per class and results are re-sorted when there are ``split_thr`` boxes or more.
Because boxes of different classes never overlap after the shift, the torch path runs the greedy
scan per class, which gives the same result as one scan over all boxes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from mmcascade.utils.options import check_block_keys

from .backend import check_impl, mmcv_ops, resolve_impl
from .nms_kernel import nms_torch
from .onnx_symbolic import grouped_nms_onnx
from .tracing import is_exporting, sort_descending, ties_by_index

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


NMS_TYPES = ("nms", "soft_nms")
NMS_KEYS = (*TORCH_NMS_KEYS, "sigma", "min_score", "method")
"""Every key an NMS config may hold: the torch and exported paths' plus mmcv's soft-NMS settings."""


def check_nms_cfg(owner: str, nms: Mapping[str, Any] | None) -> None:
    """An ``nms=dict(...)`` for :func:`mmcascade.ops.batched_nms`: checked when the component is built
    rather than at the first prediction. ``impl`` is ``'auto'``, ``'mmcv'`` or ``'torch'``;
    ``soft_nms`` exists only as an mmcv kernel.

    Raises:
        TypeError / ValueError: an unknown key or NMS type.
    """
    if nms is None:
        return
    if nms.get("type", "nms") not in NMS_TYPES:
        raise ValueError(f"{owner}: nms type {nms.get('type')!r} is not one of {NMS_TYPES}")
    check_block_keys(f"{owner} nms", nms, NMS_KEYS)
    check_impl(f"{owner} nms", nms.get("impl", "auto"))
    if nms.get("type", "nms") == "soft_nms" and nms.get("impl", "auto") == "torch":
        raise ValueError(f"{owner}: nms type 'soft_nms' has no torch implementation; drop impl='torch'")


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
        scores, inds = sort_descending(scores)
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
    kept_scores, order = sort_descending(scores[keep])
    keep = keep[order]
    if max_num > 0:
        keep, kept_scores = keep[:max_num], kept_scores[:max_num]
    return torch.cat([boxes[keep], kept_scores[:, None]], -1), keep


def _batched_nms_onnx(
    boxes: Tensor, scores: Tensor, idxs: Tensor, cfg: dict[str, Any], class_agnostic: bool
) -> tuple[Tensor, Tensor]:
    """:func:`batched_nms` while the model is exported: one ONNX ``NonMaxSuppression`` node that
    keeps the boxes the torch path keeps (:func:`~mmcascade.ops.onnx_symbolic.grouped_nms_onnx`)."""
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
