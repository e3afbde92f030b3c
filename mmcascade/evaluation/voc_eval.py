"""Pascal VOC's detection AP: each class's detections, best first, matched greedily to its
ground truth at an IoU threshold (a box marked difficult neither counts nor costs), precision
against recall, and the area under it (VOC 2010+) or its 11-point average (VOC 2007). The same
numbers as MMDetection's ``eval_map`` (which is Pascal VOC's devkit in numpy)."""

from collections.abc import Sequence

import numpy as np
from mmengine.logging import print_log

from .recall import box_ious

EVAL_MODES = ("area", "11points")


def average_precision(recalls: np.ndarray, precisions: np.ndarray, mode: str = "area") -> np.ndarray | np.float32:
    """AP of ``(S, D)`` (or ``(D,)``) cumulative recalls and precisions, per scale: ``'area'``
    under the precision envelope, or ``'11points'`` the mean of the best precision at recall
    0, 0.1, ..., 1. float32, as the devkit's."""
    if mode not in EVAL_MODES:
        raise ValueError(f"average_precision: mode must be one of {EVAL_MODES}, got {mode!r}")
    single = recalls.ndim == 1
    recalls, precisions = np.atleast_2d(recalls), np.atleast_2d(precisions)
    ap = np.zeros(recalls.shape[0], dtype=np.float32)
    for i, (rec, prec) in enumerate(zip(recalls, precisions)):
        if mode == "area":
            mrec = np.concatenate([[0.0], rec, [1.0]])
            envelope = np.maximum.accumulate(np.concatenate([[0.0], prec, [0.0]])[::-1])[::-1]
            steps = np.flatnonzero(mrec[1:] != mrec[:-1])
            ap[i] = np.sum((mrec[steps + 1] - mrec[steps]) * envelope[steps + 1])
        else:
            for thr in np.arange(0, 1 + 1e-3, 0.1):
                reached = prec[rec >= thr]
                ap[i] += reached.max() if reached.size else 0
    if mode == "11points":
        ap /= 11
    return ap[0] if single else ap


def _areas(boxes: np.ndarray, legacy: bool) -> np.ndarray:
    extra = 1.0 if legacy else 0.0
    return (boxes[:, 2] - boxes[:, 0] + extra) * (boxes[:, 3] - boxes[:, 1] + extra)


def tpfp_default(
    dets: np.ndarray,
    gts: np.ndarray,
    gts_ignore: np.ndarray | None = None,
    iou_thr: float = 0.5,
    area_ranges: Sequence[tuple] | None = None,
    use_legacy_coordinate: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """``(tp, fp)`` ``(S, D)`` flags of one image's detections of one class ``(D, 5)`` (score
    last) against its ground truth ``(G, 4)`` and ignored boxes, per area range: detections taken
    best first; one matched to an unmatched box is a true positive, to a matched box a false
    positive, to an ignored box (or one outside the area range) neither."""
    gts_ignore = np.zeros((0, 4)) if gts_ignore is None else gts_ignore
    ignored = np.concatenate([np.zeros(len(gts), bool), np.ones(len(gts_ignore), bool)])
    boxes = np.vstack([gts, gts_ignore]) if len(gts_ignore) else np.asarray(gts).reshape(-1, 4)
    ranges = list(area_ranges) if area_ranges is not None else [(None, None)]
    tp = np.zeros((len(ranges), len(dets)), np.float32)
    fp = np.zeros((len(ranges), len(dets)), np.float32)
    det_areas = _areas(dets, use_legacy_coordinate)
    in_range = [np.ones(len(dets), bool) if lo is None else (det_areas >= lo) & (det_areas < hi) for lo, hi in ranges]
    if len(boxes) == 0:
        for k in range(len(ranges)):
            fp[k, in_range[k]] = 1
        return tp, fp
    ious = box_ious(dets[:, :4], boxes, use_legacy_coordinate)
    best, best_gt = ious.max(axis=1), ious.argmax(axis=1)
    gt_areas = _areas(boxes, use_legacy_coordinate)
    for k, (lo, hi) in enumerate(ranges):
        skip = ignored if lo is None else ignored | (gt_areas < lo) | (gt_areas >= hi)
        covered = np.zeros(len(boxes), bool)
        for i in np.argsort(-dets[:, -1]):
            if best[i] >= iou_thr:
                g = best_gt[i]
                if not skip[g]:
                    tp[k, i], fp[k, i] = (0, 1) if covered[g] else (1, 0)
                    covered[g] = True
            elif in_range[k][i]:
                fp[k, i] = 1
    return tp, fp


def eval_map(
    det_results: Sequence[Sequence[np.ndarray]],
    annotations: Sequence[dict],
    scale_ranges: Sequence[tuple] | None = None,
    iou_thr: float = 0.5,
    dataset: str | Sequence[str] | None = None,
    logger: object | None = None,
    use_legacy_coordinate: bool = False,
    eval_mode: str = "area",
) -> tuple[float, list[dict]]:
    """Mean AP over the classes with ground truth.

    Args:
        det_results: per image, per class ``(D, 5)`` detections (xyxy, score).
        annotations: per image ``bboxes (G, 4)``, ``labels (G,)`` and optionally
            ``bboxes_ignore`` / ``labels_ignore`` (difficult boxes).
        scale_ranges: ``(min, max)`` box sides (areas between their squares) to evaluate within.
        iou_thr: the IoU a true positive needs.
        dataset: class names for the printed table (a name list), or None.
        logger: where the table goes (``'silent'``: nowhere).
        use_legacy_coordinate: pixel-inclusive widths (Pascal VOC's own convention).
        eval_mode: ``'area'`` or ``'11points'``.

    Returns:
        ``(mean AP, per class dict(num_gts, num_dets, recall, precision, ap))``.
    """
    if len(det_results) != len(annotations):
        raise ValueError(f"eval_map: {len(det_results)} images of detections but {len(annotations)} of annotations")
    num_classes = len(det_results[0]) if det_results else 0
    area_ranges = [(lo**2, hi**2) for lo, hi in scale_ranges] if scale_ranges is not None else None
    results = []
    for c in range(num_classes):
        dets = [np.asarray(d[c], np.float32).reshape(-1, 5) for d in det_results]
        gts = [np.asarray(a["bboxes"], np.float32).reshape(-1, 4)[np.asarray(a["labels"]) == c] for a in annotations]
        ignores = [
            np.asarray(a.get("bboxes_ignore", np.zeros((0, 4))), np.float32).reshape(-1, 4)[
                np.asarray(a.get("labels_ignore", np.zeros(0)), int) == c
            ]
            for a in annotations
        ]
        flags = [
            tpfp_default(d, g, i, iou_thr, area_ranges, use_legacy_coordinate) for d, g, i in zip(dets, gts, ignores)
        ]
        results.append(_class_result(dets, gts, flags, area_ranges, use_legacy_coordinate, eval_mode))
    mean_ap = _mean_ap(results, scale_ranges is not None)
    if logger != "silent":
        _print_summary(results, mean_ap, dataset, logger)
    return mean_ap, results


def _class_result(dets, gts, flags, area_ranges, legacy, eval_mode) -> dict:
    scales = len(area_ranges) if area_ranges is not None else 1
    num_gts = np.zeros(scales, dtype=int)
    for g in gts:
        if area_ranges is None:
            num_gts[0] += len(g)
        else:
            areas = _areas(g, legacy)
            for k, (lo, hi) in enumerate(area_ranges):
                num_gts[k] += int(((areas >= lo) & (areas < hi)).sum())
    all_dets = np.vstack(dets)
    order = np.argsort(-all_dets[:, -1])
    tp = np.cumsum(np.hstack([f[0] for f in flags])[:, order], axis=1)
    fp = np.cumsum(np.hstack([f[1] for f in flags])[:, order], axis=1)
    eps = np.finfo(np.float32).eps
    recalls = tp / np.maximum(num_gts[:, None], eps)
    precisions = tp / np.maximum(tp + fp, eps)
    if area_ranges is None:
        recalls, precisions, num_gts = recalls[0], precisions[0], num_gts.item()
    ap = average_precision(recalls, precisions, eval_mode)
    return dict(num_gts=num_gts, num_dets=len(all_dets), recall=recalls, precision=precisions, ap=ap)


def _mean_ap(results: list[dict], by_scale: bool) -> float:
    if by_scale:
        aps = np.vstack([r["ap"] for r in results])
        gts = np.vstack([r["num_gts"] for r in results])
        return [float(aps[gts[:, k] > 0, k].mean()) if (gts[:, k] > 0).any() else 0.0 for k in range(aps.shape[1])]
    aps = [r["ap"] for r in results if r["num_gts"] > 0]
    return np.array(aps).mean().item() if aps else 0.0


def _print_summary(results: list[dict], mean_ap: float, dataset: object, logger: object) -> None:
    names = list(dataset) if isinstance(dataset, (list, tuple)) else [str(i) for i in range(len(results))]
    rows = [f"{'class':>15} {'gts':>6} {'dets':>6} {'recall':>7} {'ap':>7}"]
    for name, r in zip(names, results):
        recall = float(np.atleast_1d(r["recall"])[-1]) if np.size(r["recall"]) else 0.0
        ap = float(np.atleast_1d(r["ap"])[0])
        rows.append(f"{name:>15} {int(np.atleast_1d(r['num_gts'])[0]):>6} {r['num_dets']:>6} {recall:>7.3f} {ap:>7.3f}")
    rows.append(f"{'mAP':>15} {'':>6} {'':>6} {'':>7} {float(np.atleast_1d(mean_ap)[0]):>7.3f}")
    print_log("\n" + "\n".join(rows), logger=logger)
