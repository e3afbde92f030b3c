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
    """An image file, a folder (its images, sorted, not recursive) or a glob pattern. Entries
    that lead to no file (a dangling symbolic link, a link loop) are skipped with a warning.

    Raises:
        FileNotFoundError: nothing matches.
    """
    path = Path(source)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    elif path.is_file():
        found = [path]
    else:
        found = sorted(Path(p) for p in glob.glob(source, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    files = []
    for p in found:
        if p.is_file():  # False for a dangling link or a loop (the errors are swallowed)
            files.append(p)
        else:
            what = "a symbolic link to nothing or a link loop" if p.is_symlink() else "not a file"
            warnings.warn(f"skipped {p}: {what}", stacklevel=2)
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
