"""Pascal VOC evaluation as an mmengine metric (MMDetection's ``VOCMetric``): mAP at IoU 0.5 by
default, from the samples' own ground truth (the test pipeline loads the boxes; difficult boxes
are the ignored instances)."""

import copy
import warnings
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmcascade.registry import METRICS

from .recall import eval_recalls
from .voc_eval import EVAL_MODES, eval_map


@METRICS.register_module()
class VOCMetric(BaseMetric):
    """``pascal_voc/mAP`` and ``pascal_voc/AP50`` (one ``APxx`` per IoU threshold), or proposal
    recall.

    Args:
        iou_thrs: IoU threshold(s) of a true positive.
        scale_ranges: ``(min, max)`` box sides to evaluate within (all boxes when None).
        metric: ``'mAP'`` or ``'recall'`` (of the class-0 boxes, as proposals).
        proposal_nums: the numbers of proposals for ``'recall'``.
        eval_mode: ``'11points'`` (VOC 2007's AP, the default) or ``'area'`` (VOC 2010+).
    """

    default_prefix = "pascal_voc"

    def __init__(
        self,
        iou_thrs: float | Sequence[float] = 0.5,
        scale_ranges: Sequence[tuple] | None = None,
        metric: str | Sequence[str] = "mAP",
        proposal_nums: Sequence[int] = (100, 300, 1000),
        eval_mode: str = "11points",
        collect_device: str = "cpu",
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.iou_thrs = [iou_thrs] if isinstance(iou_thrs, float) else list(iou_thrs)
        self.scale_ranges = scale_ranges
        if not isinstance(metric, str):
            if len(metric) != 1:
                raise ValueError(f"VOCMetric: one metric at a time, got {metric}")
            metric = metric[0]
        if metric not in ("mAP", "recall"):
            raise KeyError(f"VOCMetric: metric must be 'mAP' or 'recall', got {metric!r}")
        if eval_mode not in EVAL_MODES:
            raise ValueError(f"VOCMetric: eval_mode must be one of {EVAL_MODES}, got {eval_mode!r}")
        self.metric, self.proposal_nums, self.eval_mode = metric, proposal_nums, eval_mode

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        num_classes = len(self.dataset_meta["classes"])
        for sample in data_samples:
            sample = copy.deepcopy(sample.to_dict() if hasattr(sample, "to_dict") else sample)
            if "gt_instances" not in sample:
                raise KeyError(
                    f"VOCMetric evaluates against each sample's ground truth: {sample.get('img_path')} has none "
                    "(LoadAnnotations in the test pipeline, after Resize)"
                )
            gt, ignored = sample["gt_instances"], sample.get("ignored_instances", {})
            ann = dict(
                labels=gt["labels"].cpu().numpy(),
                bboxes=gt["bboxes"].cpu().numpy(),
                bboxes_ignore=ignored["bboxes"].cpu().numpy() if "bboxes" in ignored else np.zeros((0, 4), np.float32),
                labels_ignore=ignored["labels"].cpu().numpy() if "labels" in ignored else np.zeros(0, np.int64),
            )
            pred = sample["pred_instances"]
            boxes, scores, labels = (pred[k].cpu().numpy() for k in ("bboxes", "scores", "labels"))
            dets = [np.hstack([boxes[labels == c], scores[labels == c].reshape(-1, 1)]) for c in range(num_classes)]
            self.results.append((ann, dets))

    def compute_metrics(self, results: list) -> dict[str, float]:
        gts, preds = zip(*results)
        out: dict[str, float] = OrderedDict()
        if self.metric == "recall":
            recalls = eval_recalls([g["bboxes"] for g in gts], [p[0] for p in preds], self.proposal_nums,
                                   self.iou_thrs, logger="current", use_legacy_coordinate=True)  # fmt: skip
            for i, num in enumerate(self.proposal_nums):
                for j, thr in enumerate(self.iou_thrs):
                    out[f"recall@{num}@{thr}"] = float(recalls[i, j])
            if recalls.shape[1] > 1:
                for i, num in enumerate(self.proposal_nums):
                    out[f"AR@{num}"] = float(recalls[i].mean())
            return out
        self._warn_mode()
        mean_aps = []
        for thr in self.iou_thrs:
            print_log(f"\n{'-' * 15}iou_thr: {thr}{'-' * 15}", logger="current")
            mean_ap, _ = eval_map(preds, gts, self.scale_ranges, thr, self.dataset_meta["classes"], "current",
                                  use_legacy_coordinate=True, eval_mode=self.eval_mode)  # fmt: skip
            mean_aps.append(mean_ap)
            out[f"AP{int(thr * 100):02d}"] = round(mean_ap, 3)
        out["mAP"] = sum(mean_aps) / len(mean_aps)
        out.move_to_end("mAP", last=False)
        return out

    def _warn_mode(self) -> None:
        year = self.dataset_meta.get("dataset_type")
        expected = {"VOC2007": "11points", "VOC2012": "area"}.get(year)
        if expected is not None and expected != self.eval_mode:
            warnings.warn(
                f"Pascal {year} is evaluated with eval_mode='{expected}'; this run uses '{self.eval_mode}'",
                stacklevel=3,
            )
