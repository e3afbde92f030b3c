"""pycocotools evaluation helpers: results to COCO json, COCOeval, per-class AP table."""
import contextlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pycocotools.mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from terminaltables import AsciiTable

# Index of each summary number in COCOeval.stats, under MMDetection's result-key suffixes.
STAT_KEYS = ("mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l")


def recall_keys(proposal_nums: Sequence[int]) -> list[str]:
    """Names of COCOeval stats 6..11 for proposals: recall at each of the three numbers, then by
    object size at the largest."""
    if len(proposal_nums) != 3:
        raise ValueError(f"proposal_nums needs three numbers (COCOeval's maxDets), got {proposal_nums}")
    top = proposal_nums[-1]
    return [f"AR@{n}" for n in proposal_nums] + [f"AR_{s}@{top}" for s in "sml"]


@dataclass(frozen=True)
class CocoEvalResult:
    """The 12 COCOeval numbers (``stats``), AP at each IoU threshold (``per_iou``: pairs of
    threshold and AP over all areas, 100 detections) and, when asked, per-class AP."""

    stats: np.ndarray
    summary: str
    classwise: list[tuple[str, float]] | None = None
    per_iou: list[tuple[float, float]] | None = None


def xyxy_to_xywh(boxes: np.ndarray) -> list[list[float]]:
    out = boxes.astype(np.float64).copy()
    out[:, 2:] -= out[:, :2]
    return out.tolist()


def det_results_to_json(results: Sequence[dict], cat_ids: Sequence[int]) -> tuple[list, list]:
    """COCO ``bbox`` and ``segm`` result lists from per-image predictions.

    Each result dict: ``img_id``, ``bboxes (N, 4)`` xyxy, ``scores (N,)``, ``labels (N,)``
    and optional ``masks`` (a list of RLE dicts).
    """
    bbox_json, segm_json = [], []
    for res in results:
        boxes = xyxy_to_xywh(np.asarray(res["bboxes"]).reshape(-1, 4))
        for i, (box, score, label) in enumerate(zip(boxes, res["scores"], res["labels"])):
            item = dict(image_id=int(res["img_id"]), bbox=[round(v, 3) for v in box],
                        score=float(score), category_id=int(cat_ids[int(label)]))
            bbox_json.append(item)
            if res.get("masks") is not None:
                rle = dict(res["masks"][i])
                if isinstance(rle["counts"], bytes):
                    rle["counts"] = rle["counts"].decode()
                segm_json.append(dict(item, segmentation=rle))
    return bbox_json, segm_json


def encode_masks(masks: np.ndarray) -> list[dict]:
    """``(N, H, W)`` bool masks -> RLE dicts with ``counts`` as str (json-ready)."""
    rles = []
    for m in masks:
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        rle["counts"] = rle["counts"].decode()
        rles.append(rle)
    return rles


def run_cocoeval(coco_gt: COCO, results: list[dict], iou_type: str, cat_ids: Sequence[int],
                 img_ids: Sequence[int], class_names: Sequence[str] | None = None,
                 proposal_nums: Sequence[int] | None = None,
                 iou_thrs: Sequence[float] | None = None) -> CocoEvalResult:
    """Run COCOeval on ``results`` (COCO json list) and return its stats.

    ``iou_type``: ``'bbox'``, ``'segm'`` or ``'proposal'`` (class-agnostic recall of boxes).
    An empty result list gives all-zero stats instead of pycocotools' error.
    """
    if not results:
        thrs = iou_thrs if iou_thrs is not None else np.linspace(0.5, 0.95, 10)
        return CocoEvalResult(np.zeros(12), "no detections: every metric is 0", None,
                              [(float(t), 0.0) for t in thrs])
    with contextlib.redirect_stdout(io.StringIO()):
        coco_dt = coco_gt.loadRes(results)
    evaluator = COCOeval(coco_gt, coco_dt, "bbox" if iou_type == "proposal" else iou_type)
    evaluator.params.catIds = list(cat_ids)
    evaluator.params.imgIds = list(img_ids)
    if iou_thrs is not None:
        evaluator.params.iouThrs = np.asarray(iou_thrs, dtype=np.float64)
    if iou_type == "proposal":
        evaluator.params.useCats = 0
        evaluator.params.maxDets = list(proposal_nums)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    classwise = per_iou = None
    if iou_type != "proposal":
        per_iou = per_iou_ap(evaluator.eval["precision"], evaluator.params.iouThrs)
        if class_names is not None:
            classwise = per_class_ap(evaluator.eval["precision"], class_names)
    return CocoEvalResult(np.asarray(evaluator.stats), buf.getvalue(), classwise, per_iou)


def per_iou_ap(precision: np.ndarray, iou_thrs: Sequence[float]) -> list[tuple[float, float]]:
    """AP at each IoU threshold (all classes and areas, 100 detections) from COCOeval's
    precision array ``(T, R, K, A, M)``; -1 entries (no ground truth) are left out."""
    out = []
    for t, thr in enumerate(iou_thrs):
        p = precision[t, :, :, 0, -1]
        p = p[p > -1]
        out.append((round(float(thr), 2), float(np.mean(p)) if p.size else 0.0))
    return out


def per_class_ap(precision: np.ndarray, class_names: Sequence[str]) -> list[tuple[str, float]]:
    """AP (IoU .50:.95, all areas, 100 dets) of each class from COCOeval's precision array
    ``(T, R, K, A, M)``; NaN where a class has no ground truth."""
    out = []
    for k, name in enumerate(class_names):
        p = precision[:, :, k, 0, -1]
        p = p[p > -1]
        out.append((name, float(np.mean(p)) if p.size else float("nan")))
    return out


def classwise_table(classwise: list[tuple[str, float]], columns: int = 3) -> str:
    """A terminaltables table of per-class AP, ``columns`` (name, AP) pairs a row."""
    cells = [(name, f"{ap:.3f}" if np.isfinite(ap) else "nan") for name, ap in classwise]
    flat = [x for pair in cells for x in pair]
    width = 2 * min(columns, max(len(cells), 1))
    header = ["category", "AP"] * (width // 2)
    rows = [flat[i: i + width] for i in range(0, len(flat), width)]
    if rows and len(rows[-1]) < width:
        rows[-1] += [""] * (width - len(rows[-1]))
    return AsciiTable([header] + rows).table


def load_coco(ann_file: str) -> COCO:
    """A pycocotools ``COCO`` index of ``ann_file`` without its progress prints."""
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(ann_file)


def load_results_file(path: str) -> list[dict]:
    with open(path) as f:
        results = json.load(f)
    if not isinstance(results, list):
        raise ValueError(f"{path}: a COCO results file is a json list of detections")
    return results
