"""LVIS's federated AP (Gupta et al., "LVIS: A Dataset for Large Vocabulary Instance
Segmentation", CVPR 2019) on pycocotools' COCOeval, for LVIS v0.5 / v1 annotation files.

What differs from COCO AP:

* each image is evaluated only for its *positive* categories (those with an annotation) and its
  verified-absent ``neg_category_ids``; detections of any other category in that image are
  dropped (the category's presence there is unknown);
* in a category listed in the image's ``not_exhaustive_category_ids``, detections that match no
  annotation are ignored instead of counted as false positives;
* at most ``max_dets`` (300) detections per image, the highest-scoring over all categories;
* besides AP over all categories, APr / APc / APf average the categories of each frequency
  group (``frequency`` 'r': 1-10 training images, 'c': 11-100, 'f': more).

Matching, precision interpolation (101 recall points) and IoU thresholds 0.5:0.05:0.95 are
COCO's. The ``lvis`` package on PyPI (0.5.3) no longer imports with numpy >= 1.24, so this is
written here and tested on hand-computed cases.
"""

import contextlib
import io
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

FREQUENCIES = ("r", "c", "f")
# result names in the order of LVIS's summary
RESULT_KEYS = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "APr",
    "APc",
    "APf",
    "AR@300",
    "ARs@300",
    "ARm@300",
    "ARl@300",
)


def top_dets_per_image(results: list[dict], max_dets: int) -> list[dict]:
    """The ``max_dets`` highest-scoring detections of each image (all categories together)."""
    by_image: dict[Any, list[dict]] = defaultdict(list)
    for det in results:
        by_image[det["image_id"]].append(det)
    kept = []
    for dets in by_image.values():
        kept += sorted(dets, key=lambda d: -d["score"])[:max_dets]
    return kept


class LVISEval(COCOeval):
    """COCOeval with LVIS's federated rules (see the module docstring).

    Args:
        lvis_gt: the ground truth, indexed by pycocotools (an LVIS json: images carry
            ``neg_category_ids`` and ``not_exhaustive_category_ids``, categories ``frequency``).
        lvis_dt: the detections (``lvis_gt.loadRes`` of at most ``max_dets`` per image).
        iou_type: ``'bbox'`` or ``'segm'``.
        max_dets: detections per image.
    """

    def __init__(self, lvis_gt: COCO, lvis_dt: COCO, iou_type: str = "bbox", max_dets: int = 300) -> None:
        super().__init__(lvis_gt, lvis_dt, iou_type)
        self.params.maxDets = [max_dets]
        self.params.catIds = sorted(lvis_gt.getCatIds())
        imgs = lvis_gt.imgs
        self.img_neg = {i: set(img.get("neg_category_ids", [])) for i, img in imgs.items()}
        self.img_nel = {i: set(img.get("not_exhaustive_category_ids", [])) for i, img in imgs.items()}

    def _prepare(self) -> None:
        for ann in self.cocoGt.anns.values():  # LVIS has no crowd regions
            ann.setdefault("iscrowd", 0)
        super()._prepare()
        positive: dict[Any, set] = defaultdict(set)
        for img_id, cat_id in self._gts:
            positive[img_id].add(cat_id)
        for img_id, cat_id in list(self._dts):
            if cat_id not in positive[img_id] and cat_id not in self.img_neg.get(img_id, ()):
                del self._dts[img_id, cat_id]

    def evaluateImg(self, imgId: Any, catId: Any, aRng: Sequence[float], maxDet: int) -> dict | None:  # noqa: N802, N803
        result = super().evaluateImg(imgId, catId, aRng, maxDet)
        if result is not None and catId in self.img_nel.get(imgId, ()):
            result["dtIgnore"] = np.logical_or(result["dtIgnore"], result["dtMatches"] == 0)
        return result

    def freq_groups(self) -> dict[str, list[int]]:
        """Indices into ``params.catIds`` of each frequency group."""
        groups: dict[str, list[int]] = {f: [] for f in FREQUENCIES}
        for idx, cat_id in enumerate(self.params.catIds):
            freq = self.cocoGt.cats[cat_id].get("frequency")
            if freq in groups:
                groups[freq].append(idx)
        return groups

    def results(self) -> dict[str, float]:
        """AP, AP50, AP75, APs / m / l, APr / c / f, AR@300 and ARs / m / l@300 (``accumulate``
        first); -1 where nothing could be averaged (e.g. a frequency group without ground truth)."""
        precision, recall = self.eval["precision"][..., 0], self.eval["recall"][..., 0]  # (T, R, K, A), (T, K, A)
        iou_thrs = list(np.round(self.params.iouThrs, 2))

        def mean(values: np.ndarray) -> float:
            valid = values[values > -1]
            return float(np.mean(valid)) if valid.size else -1.0

        out = {"AP": mean(precision[..., 0])}
        for key, thr in (("AP50", 0.5), ("AP75", 0.75)):
            out[key] = mean(precision[iou_thrs.index(thr), ..., 0]) if thr in iou_thrs else -1.0
        for i, size in enumerate("sml", start=1):
            out[f"AP{size}"] = mean(precision[..., i])
        for freq, cats in self.freq_groups().items():
            out[f"AP{freq}"] = mean(precision[:, :, cats, 0]) if cats else -1.0
        top = self.params.maxDets[-1]
        out[f"AR@{top}"] = mean(recall[..., 0])
        for i, size in enumerate("sml", start=1):
            out[f"AR{size}@{top}"] = mean(recall[..., i])
        return out


def run_lvis_eval(
    lvis_gt: COCO, results: list[dict], iou_type: str, img_ids: Sequence[int] | None = None, max_dets: int = 300
) -> tuple[dict[str, float], np.ndarray | None]:
    """Federated LVIS evaluation of COCO-json ``results``: ``(results by name, precision array
    (T, R, K, A, 1) or None without detections)``."""
    if not results:
        return {k: 0.0 for k in RESULT_KEYS}, None
    with contextlib.redirect_stdout(io.StringIO()):
        lvis_dt = lvis_gt.loadRes(top_dets_per_image(results, max_dets))
        evaluator = LVISEval(lvis_gt, lvis_dt, iou_type, max_dets)
        if img_ids is not None:
            evaluator.params.imgIds = list(img_ids)
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator.results(), evaluator.eval["precision"]
