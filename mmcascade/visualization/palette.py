"""Colour palettes and colour helpers under MMDetection's names (``mmdet.visualization.palette``):
the per-class colours of the COCO, Pascal VOC and Cityscapes datasets (the datasets' ``palette``
metadata), :func:`get_palette` to turn a palette spec into one colour per class, and the small
helpers MMDetection's visualiser uses."""

from collections.abc import Sequence

import mmcv
import numpy as np

from mmcascade.config.class_names import CITYSCAPES_PALETTE, COCO_PALETTE, VOC_PALETTE

_NAMED = {"coco": COCO_PALETTE, "voc": VOC_PALETTE, "citys": CITYSCAPES_PALETTE}


def palette_val(palette: Sequence[tuple]) -> list[tuple[float, ...]]:
    """RGB colours of 0-255 as fractions of 1 (matplotlib's colours)."""
    return [tuple(c / 255 for c in color) for color in palette]


def get_palette(palette: Sequence[tuple] | tuple | str, num_classes: int) -> list[tuple[int, int, int]]:
    """``num_classes`` RGB colours from a palette spec: a list of colours (at least one per class),
    one colour tuple (every class), ``'random'`` (seeded: the same colours every call), a
    dataset's palette (``'coco'``, ``'voc'``, ``'citys'``), or a colour name mmcv knows
    (``'red'``, ``'green'``...).

    Raises:
        ValueError: a list with fewer colours than classes, an unknown name.
        TypeError: a spec of another kind.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 0:
        raise ValueError(f"num_classes must be a non-negative int, got {num_classes!r}")
    if isinstance(palette, list):
        colors = palette
    elif isinstance(palette, tuple):
        colors = [palette] * num_classes
    elif palette == "random" or palette is None:
        state = np.random.get_state()
        np.random.seed(42)  # the same colours every call, the caller's random state untouched
        drawn = np.random.randint(0, 256, size=(num_classes, 3))
        np.random.set_state(state)
        colors = [tuple(int(v) for v in c) for c in drawn]
    elif palette in _NAMED:
        colors = list(_NAMED[palette])
    elif isinstance(palette, str):
        try:
            bgr = mmcv.color_val(palette)
        except (KeyError, TypeError, AssertionError):
            raise ValueError(
                f"palette {palette!r} is neither 'random', a dataset's palette ({', '.join(_NAMED)}) nor a "
                f"colour name (red, green, blue, cyan, yellow, magenta, white, black)"
            ) from None
        colors = [tuple(int(v) for v in bgr[::-1])] * num_classes
    else:
        raise TypeError(f"palette must be a list, a colour tuple or a name, got {type(palette).__name__}")
    if len(colors) < num_classes:
        raise ValueError(f"the palette has {len(colors)} colours for {num_classes} classes")
    return [tuple(int(v) for v in c) for c in colors]


def jitter_color(color: tuple) -> tuple:
    """``color`` shifted by a random offset of at most about 64 per channel (numpy's global random
    state), so that instances of one class can be told apart; clipped to 0-255."""
    jitter = np.random.rand(3)
    jitter = (jitter / np.linalg.norm(jitter) - 0.5) * 0.5 * 255
    return tuple(np.clip(jitter + color, 0, 255).astype(np.uint8))


def get_adaptive_scales(areas: np.ndarray, min_area: int = 800, max_area: int = 30000) -> np.ndarray:
    """Scales of 0.5 or 1.0 for text drawn beside boxes of these ``areas``, as MMDetection's
    visualiser computes them (``0.5 + (area - min_area) // (max_area - min_area)``, clipped to
    ``[0.5, 1.0]``: boxes of ``max_area`` pixels or more get 1.0)."""
    scales = 0.5 + (areas - min_area) // (max_area - min_area)
    return np.clip(scales, 0.5, 1.0)


_get_adaptive_scales = get_adaptive_scales  # MMDetection's (private) name
