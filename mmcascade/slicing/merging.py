"""Tiles' detections into one frame and one set: moved by the tile's origin, then merged class by
class by the detector's NMS or by greedy non-maximum merging (SAHI's GREEDYNMM: the boxes and
masks of an object cut by a tile edge are united). Masks stay
:class:`~mmcascade.structures.CroppedMasks`, so memory follows the detections, not the image."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.ops import batched_nms
from mmcascade.structures import CroppedMasks, bbox_overlaps

from .tiles import Tile, check_merge_options


def as_cropped(instances: InstanceData, height: int, width: int) -> InstanceData:
    """``instances`` with bitmap masks (``(N, H, W)``) turned into :class:`CroppedMasks`."""
    if "masks" not in instances or isinstance(instances.masks, CroppedMasks):
        return instances
    out = instances.clone()
    masks = instances.masks
    out.masks = CroppedMasks.from_bitmaps(masks) if len(masks) else CroppedMasks([], np.zeros((0, 2)), height, width)
    return out


def shift_instances(instances: InstanceData, tile: Tile, height: int, width: int) -> InstanceData:
    """A tile's detections moved into the full ``height`` x ``width`` image (new object)."""
    instances = as_cropped(instances, tile.h, tile.w)
    out = InstanceData(
        bboxes=instances.bboxes + instances.bboxes.new_tensor([tile.x, tile.y, tile.x, tile.y]),
        scores=instances.scores,
        labels=instances.labels,
    )
    if "masks" in instances:
        out.masks = instances.masks.translate(tile.x, tile.y, height, width)
    return out


def greedy_merge_groups(boxes: Tensor, scores: Tensor, labels: Tensor, thr: float, metric: str) -> list[list[int]]:
    """Greedy non-maximum merging (SAHI's GREEDYNMM): in descending score order, each detection
    not yet taken takes every later one of its class whose overlap with it is above ``thr``.
    Returns the groups, best-scored first, each led by its best detection."""
    order = torch.argsort(scores, descending=True, stable=True)
    groups: list[list[int]] = []
    for cls in labels.unique().tolist():
        idx = order[labels[order] == cls]
        open_ = torch.ones(len(idx), dtype=torch.bool)
        for pos in range(len(idx)):
            if not open_[pos]:
                continue
            open_[pos] = False
            rest = torch.nonzero(open_).squeeze(1)
            rest = rest[rest > pos]
            overlap = bbox_overlaps(boxes[idx[pos]][None], boxes[idx[rest]], mode=metric)[0]  # (0,) for none
            taken = rest[overlap > thr]
            open_[taken] = False
            groups.append([int(idx[pos]), *idx[taken].tolist()])
    groups.sort(key=lambda g: (-float(scores[g[0]]), g[0]))
    return groups


def merge_instances(
    instances: InstanceData,
    iou_thr: float,
    mode: str = "nms",
    nms_cfg: dict[str, Any] | None = None,
    match_metric: str = "iou",
    max_per_img: int | None = None,
) -> InstanceData:
    """Merge detections of overlapping views (already in one frame), class by class.

    Args:
        instances: ``bboxes (N, 4)`` xyxy, ``scores``, ``labels`` and optionally ``masks``
            (:class:`CroppedMasks`).
        iou_thr: overlap above which two detections of a class are one object.
        mode: ``'nms'``: keep the best of them (the detector's NMS, ``nms_cfg`` with
            ``iou_threshold=iou_thr``); ``'nmm'``: greedy merging, the group's box is the union
            of its boxes, its score the best, its mask the union of the masks.
        match_metric: ``'iou'`` or ``'ios'`` (intersection over the smaller box; ``'nmm'`` only).
        max_per_img: keep the best this many; ``None`` keeps all.

    Returns:
        The merged detections, sorted by descending score.
    """
    check_merge_options(mode, match_metric)
    if len(instances) == 0:
        return instances
    if mode == "nms":
        cfg = dict(nms_cfg or dict(type="nms"), iou_threshold=float(iou_thr))
        _, keep = batched_nms(instances.bboxes, instances.scores, instances.labels, cfg)
        merged = instances[keep]
    else:
        groups = greedy_merge_groups(instances.bboxes, instances.scores, instances.labels, float(iou_thr), match_metric)
        merged = _merge_groups(instances, groups)
    if max_per_img is not None:
        merged = merged[: int(max_per_img)]
    return merged


def _merge_groups(instances: InstanceData, groups: list[list[int]]) -> InstanceData:
    boxes = instances.bboxes
    merged = InstanceData(
        bboxes=torch.stack([torch.cat([boxes[g, :2].amin(0), boxes[g, 2:].amax(0)]) for g in groups]),
        scores=instances.scores[[g[0] for g in groups]],
        labels=instances.labels[[g[0] for g in groups]],
    )
    if "masks" in instances:
        masks = instances.masks
        merged.masks = CroppedMasks.cat([masks[g] if len(g) == 1 else masks.union(g) for g in groups])
    return merged
