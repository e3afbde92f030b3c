"""Evaluation metrics (importing registers them)."""

from .coco_eval import CocoEvalResult, classwise_table, per_iou_ap, run_cocoeval
from .coco_metric import CocoMetric, evaluate_results_file
from .proposals_io import DumpProposals
from .recall import eval_recalls
from .results_io import DumpDetResults, load_detections, load_predictions, predictions_to_coco

__all__ = [
    "CocoEvalResult",
    "CocoMetric",
    "DumpDetResults",
    "DumpProposals",
    "classwise_table",
    "eval_recalls",
    "evaluate_results_file",
    "load_detections",
    "load_predictions",
    "per_iou_ap",
    "predictions_to_coco",
    "run_cocoeval",
]
