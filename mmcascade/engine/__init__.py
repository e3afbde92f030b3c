"""Hooks and other training-engine parts (importing registers them)."""
from .safe_checkpoint import enable_safe_checkpoints
from .visualization_hook import DetVisualizationHook

__all__ = ["DetVisualizationHook", "enable_safe_checkpoints"]
