"""COCO box / mask AP and proposal recall, through pycocotools, as an mmengine metric."""
import os.path as osp
import tempfile
from collections import OrderedDict
from collections.abc import Sequence

import mmengine
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger, print_log
from pycocotools.coco import COCO

from mmcascade.registry import METRICS

from .coco_eval import (
    STAT_KEYS,
    CocoEvalResult,
    classwise_table,
    det_results_to_json,
    encode_masks,
    load_results_file,
    recall_keys,
    run_cocoeval,
)


@METRICS.register_module()
class CocoMetric(BaseMetric):
    """COCO evaluation: ``coco/bbox_mAP``, ``coco/bbox_mAP_50`` ... ``coco/segm_mAP_l``.

    Args:
        ann_file: the ground-truth COCO json.
        metric: ``'bbox'``, ``'segm'``, ``'proposal'`` or a list of them.
        classwise: print a per-class AP table (terminaltables) and return ``coco/{cls}_precision``.
        proposal_nums: numbers of proposals for recall (``'proposal'``).
        format_only: only write ``{outfile_prefix}.bbox.json`` / ``.segm.json`` (test-dev).
        outfile_prefix: where result json files go (a temp dir when None).
    """

    default_prefix = "coco"

    def __init__(self, ann_file: str | None = None, metric: str | Sequence[str] = "bbox",
                 classwise: bool = False, proposal_nums: Sequence[int] = (100, 300, 1000),
                 format_only: bool = False, outfile_prefix: str | None = None,
                 collect_device: str = "cpu", prefix: str | None = None, **kwargs) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics = [metric] if isinstance(metric, str) else list(metric)
        for m in self.metrics:
            if m not in ("bbox", "segm", "proposal"):
                raise KeyError(f"metric must be 'bbox', 'segm' or 'proposal', got {m!r}")
        if format_only and outfile_prefix is None:
            raise ValueError("format_only needs outfile_prefix")
        self.classwise = classwise
        self.proposal_nums = list(proposal_nums)
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.ann_file = ann_file
        self._coco = None

    @property
    def coco(self) -> COCO:
        if self._coco is None:
            if self.ann_file is None:
                raise ValueError("CocoMetric needs ann_file")
            with get_local_path(self.ann_file) as path:
                self._coco = COCO(path)
        return self._coco

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        for sample in data_samples:
            sample = sample.to_dict() if hasattr(sample, "to_dict") else sample
            pred = sample["pred_instances"]
            result = dict(img_id=sample["img_id"], bboxes=pred["bboxes"].cpu().numpy(),
                          scores=pred["scores"].cpu().numpy(), labels=pred["labels"].cpu().numpy())
            if "masks" in pred:
                result["masks"] = encode_masks(pred["masks"].cpu().numpy())
            self.results.append(result)

    def compute_metrics(self, results: list) -> dict[str, float]:
        logger = MMLogger.get_current_instance()
        classes = self.dataset_meta["classes"] if self.dataset_meta else None
        cat_ids = self._cat_ids(classes)
        bbox_json, segm_json = det_results_to_json(results, cat_ids)
        prefix = self.outfile_prefix or osp.join(tempfile.mkdtemp(), "results")
        mmengine.dump(bbox_json, f"{prefix}.bbox.json")
        if segm_json:
            mmengine.dump(segm_json, f"{prefix}.segm.json")
        if self.format_only:
            logger.info(f"results written to {prefix}.bbox.json (format_only: not evaluated)")
            return {}
        img_ids = [r["img_id"] for r in results]
        return self.evaluate_json({"bbox": bbox_json, "segm": segm_json}, cat_ids, img_ids, classes)

    def _cat_ids(self, classes: Sequence[str] | None) -> list[int]:
        name_to_id = {c["name"]: c["id"] for c in self.coco.dataset["categories"]}
        if classes is None:
            return sorted(name_to_id.values())
        return [name_to_id[c] for c in classes]

    def evaluate_json(self, results: dict[str, list], cat_ids: list[int], img_ids: list[int],
                      classes: Sequence[str] | None) -> dict[str, float]:
        """Evaluate COCO-json results (``{'bbox': [...], 'segm': [...]}``)."""
        out: dict[str, float] = OrderedDict()
        for metric in self.metrics:
            dets = results["segm" if metric == "segm" else "bbox"]
            res = run_cocoeval(self.coco, dets, metric, cat_ids, img_ids,
                               class_names=classes if self.classwise else None,
                               proposal_nums=self.proposal_nums)
            print_log(f"Evaluating {metric}...\n{res.summary}", logger="current")
            out.update(self._named(metric, res))
        return out

    def _named(self, metric: str, res: CocoEvalResult) -> dict[str, float]:
        stats = res.stats
        if metric == "proposal":
            return {k: round(float(stats[i + 6]), 3) for i, k in enumerate(recall_keys(self.proposal_nums))}
        named = {f"{metric}_{k}": round(float(stats[i]), 3) for i, k in enumerate(STAT_KEYS)}
        ap = " ".join(f"{float(stats[i]):.3f}" for i in range(6))
        named[f"{metric}_mAP_copypaste"] = ap
        if res.classwise:
            print_log("\n" + classwise_table(res.classwise), logger="current")
            for name, value in res.classwise:
                named[f"{metric}_{name}_precision"] = round(value, 3)
        return named


def evaluate_results_file(ann_file: str, results_file: str, metric: str = "bbox",
                          classwise: bool = False) -> dict[str, float]:
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
