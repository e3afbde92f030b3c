"""Hooks and other training-engine parts (importing registers them)."""
from .pretrained import TORCHVISION_URLS, torchvision_url
from .safe_checkpoint import enable_safe_checkpoints
from .visualization_hook import DetVisualizationHook
from .weight_digest_hook import WeightDigestHook

__all__ = ["DetVisualizationHook", "TORCHVISION_URLS", "enable_safe_checkpoints", "torchvision_url", "WeightDigestHook"]
