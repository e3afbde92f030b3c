"""MMDetection's module path ``mmdet.evaluation.functional``: the evaluation functions code written
for MMDetection imports from there."""

from .recall import eval_recalls
from .voc_eval import average_precision, eval_map, tpfp_default

__all__ = ["average_precision", "eval_map", "eval_recalls", "tpfp_default"]
