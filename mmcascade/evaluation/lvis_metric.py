"""LVIS box / mask AP (federated, with APr / APc / APf) as an mmengine metric, MMDetection's
``LVISMetric``: CocoMetric's collection and result files, :mod:`.lvis_eval`'s evaluation."""

from collections.abc import Sequence

import numpy as np
from mmengine.logging import print_log

from mmcascade.registry import METRICS

from .coco_eval import classwise_table, per_class_ap
from .coco_metric import CocoMetric
from .lvis_eval import RESULT_KEYS, run_lvis_eval

AP_ITEMS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "APr", "APc", "APf")


@METRICS.register_module()
class LVISMetric(CocoMetric):
    """Box (``'bbox'``) and mask (``'segm'``) AP of LVIS v0.5 / v1 annotation files, and
    ``'proposal_fast'`` recall.

    Args:
        ann_file: the LVIS annotation json (its images' ``neg_category_ids`` and
            ``not_exhaustive_category_ids`` and its categories' ``frequency`` are used).
        metric: ``'bbox'``, ``'segm'``, ``'proposal_fast'`` or a list of them.
        classwise: print each category's AP and return it as ``'{name}_precision'``.
        metric_items: which of ``AP AP50 AP75 APs APm APl APr APc APf`` (default: all) and
            ``AR@300 ARs@300 ARm@300 ARl@300`` to return, as ``'{metric}_{item}'``.
        max_dets: detections per image (300, LVIS's rule; the highest-scoring are kept).
        **kwargs: :class:`CocoMetric`'s (``format_only``, ``outfile_prefix``, ``proposal_nums``...).

    Results are named ``lvis/bbox_AP``, ``lvis/bbox_APr``... (``default_prefix`` ``'lvis'``).
    """

    default_prefix = "lvis"

    def __init__(self, *args, max_dets: int = 300, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if "proposal" in self.metrics:
            raise ValueError("LVISMetric: metric 'proposal' is not implemented; use 'proposal_fast' (AR@N)")
        if self.iou_thrs is not None:
            raise ValueError("LVISMetric: LVIS AP is defined at IoU 0.5:0.05:0.95; leave iou_thrs unset")
        self.max_dets = max_dets

    def _check_items(self, items: Sequence[str] | None) -> list[str] | None:
        if items is None:
            return None
        items = [items] if isinstance(items, str) else list(items)
        unknown = [i for i in items if i not in RESULT_KEYS]
        if unknown:
            raise KeyError(f"LVISMetric: metric_items {unknown} are not reported; choose from {list(RESULT_KEYS)}")
        return items

    def evaluate_metric(
        self, metric: str, dets: list[dict], cat_ids: list[int], img_ids: list[int], classes: Sequence[str] | None
    ) -> dict[str, float]:
        """One metric's results by LVIS's federated rules (:func:`run_lvis_eval`)."""
        values, precision = run_lvis_eval(self.coco, dets, metric, img_ids, self.max_dets)
        print_log(
            f"Evaluating {metric} (LVIS, federated)...\n" + "  ".join(f"{k} {v:.3f}" for k, v in values.items()),
            logger="current",
        )
        out = {f"{metric}_{k}": round(values[k], 3) for k in self.metric_items or AP_ITEMS}
        if self.classwise and precision is not None:
            out.update(self._per_category(metric, precision))
        return out

    def _per_category(self, metric: str, precision: np.ndarray) -> dict[str, float]:
        """Each category's AP (``'{name}_precision'``; NaN without ground truth), also printed."""
        names = [self.coco.cats[c]["name"] for c in sorted(self.coco.getCatIds())]
        rows = per_class_ap(precision, names, np.linspace(0.5, 0.95, 10))
        print_log(f"\n{metric} per category:\n" + classwise_table(rows), logger="current")
        return {f"{name}_precision": round(row["mAP"], 3) for name, row in rows}
