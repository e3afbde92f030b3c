"""Evaluation metrics (importing registers them)."""
from .coco_eval import CocoEvalResult, classwise_table, per_iou_ap, run_cocoeval
from .coco_metric import CocoMetric, evaluate_results_file

__all__ = ["CocoEvalResult", "CocoMetric", "classwise_table", "evaluate_results_file", "per_iou_ap", "run_cocoeval"]
