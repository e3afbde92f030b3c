"""Read the images a demo is pointed at (found by :func:`mmcascade.utils.image_files.list_images`);
unreadable files are reported, not fatal."""

import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np


def read_images(files: list[Path]) -> Iterator[tuple[Path, np.ndarray]]:
    """``(path, (H, W, 3) uint8 BGR)`` for each readable file; others are warned about and skipped."""
    for path in files:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR) if os.path.getsize(path) else None
        if img is None:
            warnings.warn(f"skipped unreadable image {path}", stacklevel=2)
            continue
        yield path, img


def output_paths(files: list[Path], out_dir: str | os.PathLike) -> list[Path]:
    """Where a demo writes each input's drawing: ``out_dir/<name>``, with ``_1``, ``_2``... added
    when two inputs share a name (``a/x.jpg`` and ``b/x.jpg``).

    Raises:
        ValueError: ``out_dir`` is a folder that holds one of the inputs (the drawings would
            replace the images).
    """
    out = Path(out_dir).resolve()
    holding = [f for f in files if f.resolve().parent == out]
    if holding:
        raise ValueError(
            f"--out-dir {out_dir} holds the input image {holding[0]}: the drawn pictures "
            f"would overwrite the inputs. Choose another output folder."
        )
    taken: set[str] = set()
    paths = []
    for f in files:
        name, n = f.name, 0
        while name in taken:
            n += 1
            name = f"{f.stem}_{n}{f.suffix}"
        taken.add(name)
        paths.append(out / name)
    return paths
