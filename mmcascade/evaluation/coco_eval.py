"""pycocotools evaluation helpers: results to COCO json, COCOeval, per-class AP table."""

import contextlib
import io
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pycocotools.mask as mask_utils
import torch
from mmengine.logging import print_log
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from terminaltables import AsciiTable
from tqdm import tqdm

from mmcascade.structures import CroppedMasks
from mmcascade.utils.json_files import load_json, read_coco

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
    classwise: list[tuple[str, dict[str, float]]] | None = None
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
            item = dict(
                image_id=int(res["img_id"]),
                bbox=[round(v, 3) for v in box],
                score=float(score),
                category_id=int(cat_ids[int(label)]),
            )
            bbox_json.append(item)
            if res.get("masks") is not None:
                rle = dict(res["masks"][i])
                if isinstance(rle["counts"], bytes):
                    rle["counts"] = rle["counts"].decode()
                segm_json.append(dict(item, segmentation=rle))
    return bbox_json, segm_json


def encode_masks(masks: Any) -> list[dict]:
    """``(N, H, W)`` bool masks (array or tensor) or :class:`~mmcascade.structures.CroppedMasks`
    -> RLE dicts with ``counts`` as str (json-ready)."""
    if isinstance(masks, CroppedMasks):
        return masks.to_rle()
    if isinstance(masks, torch.Tensor):
        masks = masks.cpu().numpy()
    rles = []
    for m in masks:
        rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
        rle["counts"] = rle["counts"].decode()
        rles.append(rle)
    return rles


class _ProgressCOCOeval(COCOeval):
    """pycocotools' COCOeval with a progress bar over its per-image work (IoU matrices, then
    matching), shown on a terminal; what it evaluates is unchanged."""

    def __init__(self, *args, label: str = "", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._label = label
        self._bar: tqdm | None = None

    def evaluate(self) -> None:
        params = self.params
        cats = len(params.catIds) if params.useCats else 1
        total = len(params.imgIds) * cats * (1 + len(params.areaRng))
        with tqdm(
            total=total, desc=f"COCOeval {self._label}", unit="img-cat", mininterval=1.0, leave=False, disable=None
        ) as self._bar:
            super().evaluate()
        self._bar = None

    def computeIoU(self, img_id, cat_id):  # noqa: N802 (pycocotools' name)
        if self._bar is not None:
            self._bar.update()
        return super().computeIoU(img_id, cat_id)

    def evaluateImg(self, img_id, cat_id, area_rng, max_det):  # noqa: N802
        if self._bar is not None:
            self._bar.update()
        return super().evaluateImg(img_id, cat_id, area_rng, max_det)


def run_cocoeval(
    coco_gt: COCO,
    results: list[dict],
    iou_type: str,
    cat_ids: Sequence[int],
    img_ids: Sequence[int],
    class_names: Sequence[str] | None = None,
    proposal_nums: Sequence[int] | None = None,
    iou_thrs: Sequence[float] | None = None,
    progress: bool = False,
) -> CocoEvalResult:
    """Run COCOeval on ``results`` (COCO json list) and return its stats.

    ``iou_type``: ``'bbox'``, ``'segm'`` or ``'proposal'`` (class-agnostic recall of boxes).
    An empty result list gives all-zero stats instead of pycocotools' error. ``progress``: log
    each phase with its size and time, and show a bar on a terminal.

    Raises:
        ValueError: results for images or categories the annotation file does not have (pycocotools
            would drop or refuse them), or ``segm`` results without masks, naming them.
    """
    check_results(coco_gt, results, iou_type)
    if not results:
        thrs = iou_thrs if iou_thrs is not None else np.linspace(0.5, 0.95, 10)
        return CocoEvalResult(np.zeros(12), "no detections: every metric is 0", None, [(float(t), 0.0) for t in thrs])
    start = time.perf_counter()
    coco_dt = load_res(coco_gt, results)
    evaluator = _ProgressCOCOeval(coco_gt, coco_dt, "bbox" if iou_type == "proposal" else iou_type, label=iou_type)
    evaluator.params.catIds = list(cat_ids)
    evaluator.params.imgIds = list(img_ids)
    if iou_thrs is not None:
        evaluator.params.iouThrs = np.asarray(iou_thrs, dtype=np.float64)
    if iou_type == "proposal":
        evaluator.params.useCats = 0
        evaluator.params.maxDets = list(proposal_nums)
    if progress:
        print_log(
            f"COCOeval {iou_type}: {len(results)} detections, {len(img_ids)} images, {len(cat_ids)} categories",
            logger="current",
        )
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        evaluator.evaluate()
        if progress:
            print_log(
                f"COCOeval {iou_type}: matched in {time.perf_counter() - start:.1f} s; accumulating", logger="current"
            )
        evaluator.accumulate()
        evaluator.summarize()
    classwise = per_iou = None
    if iou_type != "proposal":
        per_iou = per_iou_ap(evaluator.eval["precision"], evaluator.params.iouThrs)
        if class_names is not None:
            classwise = per_class_ap(evaluator.eval["precision"], class_names, evaluator.params.iouThrs)
    if progress:
        print_log(f"COCOeval {iou_type}: done in {time.perf_counter() - start:.1f} s", logger="current")
    return CocoEvalResult(np.asarray(evaluator.stats), buf.getvalue(), classwise, per_iou)


def check_results(coco_gt: COCO, results: list[dict], iou_type: str) -> None:
    """Every detection must be of an image and a category of ``coco_gt``, and carry a
    ``segmentation`` for ``iou_type='segm'``.

    Raises:
        ValueError: naming the unknown ids (and how many detections carry them) or the missing masks.
    """
    imgs, cats = set(coco_gt.getImgIds()), set(coco_gt.getCatIds())
    bad_imgs = Counter(r.get("image_id") for r in results if r.get("image_id") not in imgs)
    bad_cats = Counter(r.get("category_id") for r in results if r.get("category_id") not in cats)
    problems = []
    if bad_imgs:
        problems.append(f"image ids {sorted(bad_imgs, key=str)[:5]} ({sum(bad_imgs.values())} detections)")
    if bad_cats:
        problems.append(f"category ids {sorted(bad_cats, key=str)[:5]} ({sum(bad_cats.values())} detections)")
    if problems:
        raise ValueError(
            f"the results name {' and '.join(problems)} that the annotation file does not have "
            f"(its categories: {sorted(cats)[:10]}); they would be dropped from the evaluation. "
            "Are the results of another dataset, or were labels mapped to the wrong category ids?"
        )
    if iou_type == "segm":
        missing = sum(1 for r in results if "segmentation" not in r)
        if missing:
            raise ValueError(
                f"segm evaluation needs masks, but {missing} of {len(results)} detections have no "
                "'segmentation' (box-only results: evaluate them with bbox)"
            )


def per_iou_ap(precision: np.ndarray, iou_thrs: Sequence[float]) -> list[tuple[float, float]]:
    """AP at each IoU threshold (all classes and areas, 100 detections) from COCOeval's
    precision array ``(T, R, K, A, M)``; -1 entries (no ground truth) are left out."""
    out = []
    for t, thr in enumerate(iou_thrs):
        p = precision[t, :, :, 0, -1]
        p = p[p > -1]
        out.append((round(float(thr), 2), float(np.mean(p)) if p.size else 0.0))
    return out


# Columns of the per-class table: (name, IoU threshold or None for the mean, area index).
CLASSWISE_COLUMNS = (
    ("mAP", None, 0),
    ("mAP_50", 0.5, 0),
    ("mAP_75", 0.75, 0),
    ("mAP_s", None, 1),
    ("mAP_m", None, 2),
    ("mAP_l", None, 3),
)


def _mean_valid(p: np.ndarray) -> float:
    p = p[p > -1]
    return float(np.mean(p)) if p.size else float("nan")


def per_class_ap(
    precision: np.ndarray, class_names: Sequence[str], iou_thrs: Sequence[float] | None = None
) -> list[tuple[str, dict[str, float]]]:
    """Per class, the six numbers of :data:`CLASSWISE_COLUMNS` (AP at IoU .50:.95, at .50, at
    .75, and for small / medium / large objects; 100 detections) from COCOeval's precision
    array ``(T, R, K, A, M)``; NaN where a class has no ground truth (or the threshold was not
    evaluated)."""
    thrs = np.asarray(iou_thrs if iou_thrs is not None else np.linspace(0.5, 0.95, 10))
    out = []
    for k, name in enumerate(class_names):
        row = {}
        for col, thr, area in CLASSWISE_COLUMNS:
            if thr is None:
                row[col] = _mean_valid(precision[:, :, k, area, -1])
            else:
                t = np.flatnonzero(np.isclose(thrs, thr))
                row[col] = _mean_valid(precision[t[0], :, k, area, -1]) if t.size else float("nan")
        out.append((name, row))
    return out


def classwise_table(classwise: list[tuple[str, dict[str, float]]]) -> str:
    """A terminaltables table with a row per class: AP, AP50, AP75, AP_s, AP_m, AP_l."""
    header = ["category"] + [c for c, _, _ in CLASSWISE_COLUMNS]
    rows = [
        [name] + [f"{row[c]:.3f}" if np.isfinite(row[c]) else "nan" for c, _, _ in CLASSWISE_COLUMNS]
        for name, row in classwise
    ]
    return AsciiTable([header] + rows).table


def coco_from_dataset(dataset: dict) -> COCO:
    """A pycocotools ``COCO`` index of an in-memory COCO dict (``images``, ``annotations``,
    ``categories``), without its progress prints."""
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def load_res(coco_gt: COCO, results: list[dict]) -> COCO:
    """``coco_gt.loadRes(results)`` without its progress prints."""
    with contextlib.redirect_stdout(io.StringIO()):
        return coco_gt.loadRes(results)


def load_coco(ann_file: str, name: str | None = None) -> COCO:
    """A pycocotools ``COCO`` index of ``ann_file`` without its progress prints.

    Raises:
        ValueError: an annotation without a numeric ``area`` (COCOeval reads it for every
            ground-truth box, so the evaluation would fail only at its end), naming it.
    """
    with contextlib.redirect_stdout(io.StringIO()):
        coco = read_coco(ann_file)
    bad = [a for a in coco.dataset.get("annotations", []) if not isinstance(a.get("area"), (int, float))]
    if bad:
        first = bad[0]
        raise ValueError(
            f"{name or ann_file}: {len(bad)} annotation(s) have no numeric 'area' (annotation id "
            f"{first.get('id')}, image_id {first.get('image_id')}: area={first.get('area')!r}); COCO "
            "evaluation needs it for every annotation (the mask's pixel count, or the box's w * h)"
        )
    return coco


def load_results_file(path: str) -> list[dict]:
    """The detections of a COCO results json (a list), read with errors naming the file."""
    results = load_json(path, "COCO results file")
    if not isinstance(results, list):
        raise ValueError(f"{path}: a COCO results file is a json list of detections")
    return results
