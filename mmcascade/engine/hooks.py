"""MMDetection's module path ``mmdet.engine.hooks``: this toolbox's hooks under the name code
written for MMDetection imports (they are defined in their own modules of :mod:`mmcascade.engine`)."""

from .checkpoint_hook import CheckpointHook
from .divergence_hook import LossDivergenceHook
from .epoch_reseed_hook import EpochReseedHook
from .visualization_hook import DetVisualizationHook
from .weight_digest_hook import WeightDigestHook

__all__ = ["CheckpointHook", "DetVisualizationHook", "EpochReseedHook", "LossDivergenceHook", "WeightDigestHook"]
