"""Runner glue: hooks and mmengine's checkpoint-loading schemes (importing registers them)."""

from . import checkpoint_schemes  # noqa: F401 (registers mmengine checkpoint schemes)
from .checkpoint_hook import CheckpointHook
from .epoch_reseed_hook import EpochReseedHook
from .pretrained import TORCHVISION_URLS, torchvision_url
from .visualization_hook import DetVisualizationHook
from .weight_digest_hook import WeightDigestHook

__all__ = [
    "CheckpointHook",
    "DetVisualizationHook",
    "EpochReseedHook",
    "TORCHVISION_URLS",
    "WeightDigestHook",
    "torchvision_url",
]
