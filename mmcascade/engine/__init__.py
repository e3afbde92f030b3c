"""Runner glue: hooks and mmengine's checkpoint-loading schemes (importing registers them)."""

from . import (
    checkpoint_schemes,  # noqa: F401 (registers mmengine checkpoint schemes)
    optimizers,  # noqa: F401 (registers the optimizer-wrapper constructors)
)
from .checkpoint_hook import CheckpointHook
from .divergence_hook import LossDivergenceHook, TrainingDivergedError
from .epoch_reseed_hook import EpochReseedHook
from .pretrained import TORCHVISION_URLS, torchvision_url
from .visualization_hook import DetVisualizationHook
from .weight_digest_hook import WeightDigestHook

__all__ = [
    "CheckpointHook",
    "DetVisualizationHook",
    "EpochReseedHook",
    "LossDivergenceHook",
    "TORCHVISION_URLS",
    "TrainingDivergedError",
    "WeightDigestHook",
    "torchvision_url",
]
