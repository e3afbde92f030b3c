"""Which files a tool pointed at images reads: an image, a folder of images or a glob."""

import glob
import warnings
from pathlib import Path

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
