"""Visualisers (importing registers them)."""

from .local_visualizer import DetLocalVisualizer
from .palette import get_palette, jitter_color, palette_val

__all__ = ["DetLocalVisualizer", "get_palette", "jitter_color", "palette_val"]
