"""MMDetection's module path ``mmdet.evaluation.functional``: the evaluation functions code written
for MMDetection imports from there."""

from .recall import eval_recalls

__all__ = ["eval_recalls"]
