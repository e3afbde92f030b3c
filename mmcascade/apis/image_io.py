"""Find and read the images a demo is pointed at; unreadable files are reported, not fatal."""
import glob
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def list_images(source: str) -> list[Path]:
    """An image file, a folder (its images, sorted, not recursive) or a glob pattern.

    Raises:
        FileNotFoundError: nothing matches.
    """
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    elif path.is_file():
        files = [path]
    else:
        files = sorted(Path(p) for p in glob.glob(source, recursive=True)
                       if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images found at {source!r} (a file, a folder or a glob)")
    return files


def read_images(files: list[Path]) -> Iterator[tuple[Path, np.ndarray]]:
    """``(path, (H, W, 3) uint8 BGR)`` for each readable file; others are warned about and skipped."""
    for path in files:
        img = cv2.imread(str(path), cv2.IMREAD_COLOR) if os.path.getsize(path) else None
        if img is None:
            warnings.warn(f"skipped unreadable image {path}", stacklevel=2)
            continue
        yield path, img
