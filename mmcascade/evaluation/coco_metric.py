"""COCO box / mask AP and proposal recall, through pycocotools, as an mmengine metric."""

import logging
import os.path as osp
from collections import OrderedDict
from collections.abc import Sequence

import mmengine
import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger, print_log
from pycocotools.coco import COCO

from mmcascade.registry import METRICS

from .coco_eval import (
    STAT_KEYS,
    CocoEvalResult,
    classwise_table,
    coco_from_dataset,
    det_results_to_json,
    encode_masks,
    load_coco,
    load_results_file,
    recall_keys,
    run_cocoeval,
)
from .recall import eval_recalls

BOX_ITEMS = tuple(STAT_KEYS)
METRICS_KNOWN = ("bbox", "segm", "proposal", "proposal_fast")
DEFAULT_IOU_THRS = np.linspace(0.5, 0.95, 10)


@METRICS.register_module()
class CocoMetric(BaseMetric):
    """COCO evaluation: ``coco/bbox_mAP``, ``coco/bbox_mAP_50`` ... ``coco/segm_mAP_l``.

    Args:
        ann_file: the ground-truth COCO json (any mmengine storage backend).
        metric: ``'bbox'``, ``'segm'``, ``'proposal'`` (COCO's average recall through
            pycocotools), ``'proposal_fast'`` (recall of the first ``proposal_nums`` boxes of each
            image, averaged over ``iou_thrs``: ``coco/AR@100``...; crowd boxes left out) or a list.
        classwise: print a per-class table (AP, AP50, AP75, AP_s, AP_m, AP_l) and return each
            class's AP as ``coco/{class}_precision`` (MMDetection's key: with several metrics it
            holds the last one's, so each is also given as ``coco/{metric}_{class}_precision``).
        proposal_nums: numbers of proposals for recall (``'proposal'``).
        iou_thrs: IoU thresholds to evaluate at (default 0.50:0.05:0.95); AP50 / AP75 are -1
            when 0.5 / 0.75 is not among them, as pycocotools reports.
        metric_items: which numbers to return; ``mAP``, ``mAP_50``, ``mAP_75``, ``mAP_s``,
            ``mAP_m``, ``mAP_l`` for boxes and masks (default all six), ``AR@N`` / ``AR_s@N`` ...
            for proposals (default all six recall numbers).
        format_only: only write ``{outfile_prefix}.bbox.json`` / ``.segm.json`` (test-dev).
        outfile_prefix: where result json files go (a temp dir when None).
        sort_categories: order the annotation file's categories by id before use (what
            evaluation falls back to when the dataset names no classes); class names are
            always matched to categories by name.
        backend_args: mmengine file-backend arguments for reading ``ann_file``.
        use_mp_eval: must be False (multi-process COCOeval is not implemented).

    Evaluation logs each phase with its size and time, and shows a progress bar on a terminal.
    """

    default_prefix = "coco"

    def __init__(
        self,
        ann_file: str | None = None,
        metric: str | Sequence[str] = "bbox",
        classwise: bool = False,
        proposal_nums: Sequence[int] = (100, 300, 1000),
        iou_thrs: float | Sequence[float] | None = None,
        metric_items: Sequence[str] | None = None,
        format_only: bool = False,
        outfile_prefix: str | None = None,
        sort_categories: bool = False,
        backend_args: dict | None = None,
        use_mp_eval: bool = False,
        collect_device: str = "cpu",
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = [metric] if isinstance(metric, str) else list(metric)
        for m in self.metrics:
            if m not in METRICS_KNOWN:
                raise KeyError(f"CocoMetric: metric must be one of {METRICS_KNOWN}, got {m!r}")
        if format_only and outfile_prefix is None:
            raise ValueError("CocoMetric: format_only needs outfile_prefix")
        if use_mp_eval:
            raise ValueError("CocoMetric: use_mp_eval=True (multi-process COCOeval) is not implemented; leave it False")
        self.classwise = classwise
        self.proposal_nums = list(proposal_nums)
        recall_keys(self.proposal_nums)  # three numbers, checked now rather than after a test run
        if iou_thrs is not None:
            iou_thrs = [float(iou_thrs)] if isinstance(iou_thrs, (int, float)) else [float(t) for t in iou_thrs]
            bad = [t for t in iou_thrs if not 0.0 < t <= 1.0]
            if not iou_thrs or bad:
                raise ValueError(f"CocoMetric: iou_thrs must be thresholds in (0, 1], got {iou_thrs}")
        self.iou_thrs = iou_thrs
        self.metric_items = self._check_items(metric_items)
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.sort_categories = sort_categories
        self.backend_args = backend_args
        self.ann_file = ann_file
        self._coco = None
        if ann_file is not None and not format_only and osp.isfile(str(ann_file)):
            _ = self.coco  # a local annotation file is read and checked now, not after the run

    def _check_items(self, items: Sequence[str] | None) -> list[str] | None:
        if items is None:
            return None
        items = [items] if isinstance(items, str) else list(items)
        allowed = set(BOX_ITEMS) if set(self.metrics) - {"proposal", "proposal_fast"} else set()
        if "proposal" in self.metrics:
            allowed |= set(recall_keys(self.proposal_nums))
        unknown = [i for i in items if i not in allowed]
        if unknown:
            raise KeyError(
                f"CocoMetric: metric_items {unknown} are not reported for metric "
                f"{self.metrics}; choose from {sorted(allowed)}"
            )
        return items

    @property
    def coco(self) -> COCO:
        if self._coco is None:
            if self.ann_file is None:
                raise ValueError("CocoMetric without ann_file builds its ground truth during the run (process)")
            with get_local_path(self.ann_file, backend_args=self.backend_args) as path:
                self._coco = load_coco(path, name=self.ann_file)
            if "segm" in self.metrics:
                bare = [a for a in self._coco.dataset.get("annotations", []) if not a.get("segmentation")]
                if bare:
                    raise ValueError(
                        f"CocoMetric: metric 'segm' needs a 'segmentation' for every annotation of {self.ann_file}, "
                        f"but {len(bare)} have none (annotation id {bare[0].get('id')}, image_id "
                        f"{bare[0].get('image_id')}); evaluate metric='bbox' for box-only ground truth"
                    )
            if self.sort_categories:
                cats = self._coco.dataset["categories"]
                self._coco.dataset["categories"] = sorted(cats, key=lambda c: c["id"])
        return self._coco

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        for sample in data_samples:
            sample = sample.to_dict() if hasattr(sample, "to_dict") else sample
            pred = sample["pred_instances"]
            result = dict(
                img_id=sample["img_id"],
                bboxes=pred["bboxes"].cpu().numpy(),
                scores=pred["scores"].cpu().numpy(),
                labels=pred["labels"].cpu().numpy(),
            )
            if "masks" in pred:
                result["masks"] = encode_masks(pred["masks"])
            if self.ann_file is None and not self.format_only:
                if "instances" not in sample:
                    raise ValueError(
                        "CocoMetric without ann_file takes the ground truth from each sample's 'instances' "
                        f"(image {sample['img_id']} has none): add 'instances' to PackDetInputs' meta_keys, "
                        "or give ann_file"
                    )
                result["gt"] = dict(
                    img_id=sample["img_id"],
                    height=sample["ori_shape"][0],
                    width=sample["ori_shape"][1],
                    instances=sample["instances"],
                )
            self.results.append(result)

    def compute_metrics(self, results: list) -> dict[str, float]:
        logger = MMLogger.get_current_instance()
        classes = self.dataset_meta["classes"] if self.dataset_meta else None
        if self.ann_file is None and not self.format_only:
            if not classes:
                raise ValueError("CocoMetric without ann_file needs the dataset's class names (dataset_meta)")
            self._coco = gt_records_to_coco([r["gt"] for r in results], classes)
        cat_ids = list(range(len(classes or ()))) if self.ann_file is None else self._cat_ids(classes)
        bbox_json, segm_json = det_results_to_json(results, cat_ids)
        if self.outfile_prefix:
            self._dump(bbox_json, segm_json, self.outfile_prefix)
        if self.format_only:
            logger.info(f"results written to {self.outfile_prefix}.bbox.json (format_only: not evaluated)")
            return {}
        img_ids = [r["img_id"] for r in results]
        total = len(self.coco.getImgIds())
        if len(set(img_ids)) < total:
            print_log(
                f"CocoMetric: evaluating {len(set(img_ids))} of the {total} images of {self.ann_file} "
                "(the others were not tested: skipped as unreadable, or a subset); the metrics are over those",
                logger="current",
                level=logging.WARNING,
            )
        out: dict[str, float] = OrderedDict()
        for metric in self.metrics:
            if metric == "proposal_fast":
                out.update(self.fast_recall(results))
            else:
                out.update(
                    self.evaluate_json({"bbox": bbox_json, "segm": segm_json}, cat_ids, img_ids, classes, [metric])
                )
        return out

    def fast_recall(self, results: list[dict]) -> dict[str, float]:
        """``AR@N`` for each of ``proposal_nums``: recall of each image's first N boxes (in the
        order predicted) against its non-crowd ground truth, averaged over ``iou_thrs``."""
        gts = []
        for r in results:
            anns = self.coco.loadAnns(self.coco.getAnnIds(imgIds=r["img_id"]))
            boxes = [a["bbox"] for a in anns if not a.get("iscrowd", 0) and not a.get("ignore", False)]
            gts.append(np.array([[x, y, x + w, y + h] for x, y, w, h in boxes], np.float32).reshape(-1, 4))
        thrs = DEFAULT_IOU_THRS if self.iou_thrs is None else np.array(self.iou_thrs)
        recalls = eval_recalls(gts, [r["bboxes"] for r in results], self.proposal_nums, thrs, logger="silent")
        ar = recalls.mean(axis=1)
        print_log("\n".join(f"AR@{n}\t{v:.4f}" for n, v in zip(self.proposal_nums, ar)), logger="current")
        return {f"AR@{n}": float(v) for n, v in zip(self.proposal_nums, ar)}

    @staticmethod
    def _dump(bbox_json: list, segm_json: list, prefix: str) -> None:
        mmengine.dump(bbox_json, f"{prefix}.bbox.json")
        if segm_json:
            mmengine.dump(segm_json, f"{prefix}.segm.json")

    def _cat_ids(self, classes: Sequence[str] | None) -> list[int]:
        """Category ids in label order: the dataset's class names matched by name, or (no names
        known) the annotation file's categories in their order (by id with ``sort_categories``)."""
        cats = self.coco.dataset["categories"]
        if classes is None:
            return [c["id"] for c in cats]
        name_to_id = {c["name"]: c["id"] for c in cats}
        missing = [c for c in classes if c not in name_to_id]
        if missing:
            raise KeyError(f"CocoMetric: classes {missing} are not categories of {self.ann_file}")
        return [name_to_id[c] for c in classes]

    def evaluate_json(
        self,
        results: dict[str, list],
        cat_ids: list[int],
        img_ids: list[int],
        classes: Sequence[str] | None,
        metrics: Sequence[str] | None = None,
    ) -> dict[str, float]:
        """Evaluate COCO-json results (``{'bbox': [...], 'segm': [...]}``) for ``metrics``
        (default: the metric's own, ``proposal_fast`` aside: it needs the raw boxes)."""
        out: dict[str, float] = OrderedDict()
        for metric in metrics or [m for m in self.metrics if m != "proposal_fast"]:
            dets = results["segm" if metric == "segm" else "bbox"]
            out.update(self.evaluate_metric(metric, dets, cat_ids, img_ids, classes))
        return out

    def evaluate_metric(
        self, metric: str, dets: list[dict], cat_ids: list[int], img_ids: list[int], classes: Sequence[str] | None
    ) -> dict[str, float]:
        """One metric's named results from its COCO-json detections (COCOeval)."""
        res = run_cocoeval(
            self.coco,
            dets,
            metric,
            cat_ids,
            img_ids,
            class_names=classes if self.classwise else None,
            proposal_nums=self.proposal_nums,
            iou_thrs=self.iou_thrs,
            progress=True,
        )
        print_log(f"Evaluating {metric}...\n{res.summary}", logger="current")
        return self._named(metric, res)

    def _named(self, metric: str, res: CocoEvalResult) -> dict[str, float]:
        stats = res.stats
        if metric == "proposal":
            named = {k: round(float(stats[i + 6]), 3) for i, k in enumerate(recall_keys(self.proposal_nums))}
            return {k: v for k, v in named.items() if self.metric_items is None or k in self.metric_items}
        items = [k for k in STAT_KEYS if self.metric_items is None or k in self.metric_items]
        named = {f"{metric}_{k}": round(float(stats[STAT_KEYS.index(k)]), 3) for k in items}
        ap = " ".join(f"{float(stats[i]):.3f}" for i in range(6))
        print_log(f"{metric}_mAP_copypaste: {ap}", logger="current")
        if res.classwise:
            print_log(f"\n{metric} per class:\n" + classwise_table(res.classwise), logger="current")
            for name, row in res.classwise:
                named[f"{name}_precision"] = round(row["mAP"], 3)
                if len(self.metrics) > 1:  # MMDetection's key then holds the last metric's AP only
                    named[f"{metric}_{name}_precision"] = round(row["mAP"], 3)
        return named


def gt_records_to_coco(records: list[dict], classes: Sequence[str]) -> COCO:
    """A COCO ground truth from the samples' own annotations (MMDetection's conversion): category
    ids are the labels (0-based), boxes xyxy -> xywh, ``ignore_flag`` -> ``iscrowd``, masks
    (RLE or polygons) kept as ``segmentation``."""
    images, annotations = [], []
    for rec in records:
        images.append(dict(id=rec["img_id"], width=int(rec["width"]), height=int(rec["height"]), file_name=""))
        for inst in rec["instances"]:
            x1, y1, x2, y2 = (float(v) for v in inst["bbox"])
            ann = dict(
                id=len(annotations) + 1,
                image_id=rec["img_id"],
                bbox=[x1, y1, x2 - x1, y2 - y1],
                iscrowd=int(inst.get("ignore_flag", 0)),
                category_id=int(inst["bbox_label"]),
                area=(x2 - x1) * (y2 - y1),
            )
            mask = inst.get("mask")
            if mask is not None:
                if isinstance(mask, dict) and isinstance(mask.get("counts"), bytes):
                    mask = dict(mask, counts=mask["counts"].decode())
                ann["segmentation"] = mask
            annotations.append(ann)
    categories = [dict(id=i, name=n) for i, n in enumerate(classes)]
    return coco_from_dataset(dict(images=images, annotations=annotations, categories=categories))


def evaluate_results_file(
    ann_file: str, results_file: str, metric: str = "bbox", classwise: bool = False
) -> dict[str, float]:
    """Evaluate a COCO results json against ``ann_file`` without a model (all categories)."""
    dets = load_results_file(results_file)
    coco = COCO(ann_file)
    cats = sorted(coco.getCatIds())
    names = [coco.cats[c]["name"] for c in cats]
    evaluator = CocoMetric(ann_file=ann_file, metric=metric, classwise=classwise)
    evaluator._coco = coco
    key = "segm" if metric == "segm" else "bbox"
    out = evaluator.evaluate_json({key: dets}, cats, sorted(coco.getImgIds()), names)
    return {f"coco/{k}": v for k, v in out.items()}


__all__ = ["CocoMetric", "evaluate_results_file"]
