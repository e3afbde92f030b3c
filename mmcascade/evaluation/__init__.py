"""Evaluation metrics (importing registers them)."""

from .cityscapes_metric import CityScapesMetric
from .coco_eval import CocoEvalResult, classwise_table, per_iou_ap, run_cocoeval
from .coco_metric import CocoMetric, evaluate_results_file
from .lvis_eval import LVISEval, run_lvis_eval
from .lvis_metric import LVISMetric
from .proposals_io import DumpProposals
from .recall import eval_recalls
from .results_io import DumpDetResults, load_detections, load_predictions, predictions_to_coco
from .voc_eval import average_precision, eval_map
from .voc_metric import VOCMetric

__all__ = [
    "CityScapesMetric",
    "CocoEvalResult",
    "CocoMetric",
    "DumpDetResults",
    "DumpProposals",
    "LVISEval",
    "LVISMetric",
    "VOCMetric",
    "average_precision",
    "eval_map",
    "classwise_table",
    "eval_recalls",
    "evaluate_results_file",
    "load_detections",
    "load_predictions",
    "per_iou_ap",
    "predictions_to_coco",
    "run_cocoeval",
    "run_lvis_eval",
]
