"""Checks of a COCO annotation file's records and of its image files' headers, run when a dataset
is built (before any iteration), each naming the file, the record and the field at fault.

Pure functions over the json's lists; :class:`~mmcascade.datasets.CocoDataset` calls them. They
read each record once (a 100k-annotation file checks in well under a second) and, for image files,
only the header and the last bytes (no decoding).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError


class DatasetError(ValueError):
    """The annotation file cannot be used as it is."""


def _first(items: Iterable[str], n: int = 3) -> str:
    items = list(items)
    more = f" (and {len(items) - n} more)" if len(items) > n else ""
    return "; ".join(items[:n]) + more


def check_categories(categories: Sequence[dict], where: str) -> None:
    """Category ids and names must be unique: two names sharing an id would train one class as the
    other, silently.

    Raises:
        DatasetError: naming the duplicated ids (with their names) or names (with their ids).
    """
    ids = Counter(c.get("id") for c in categories)
    dup_ids = [i for i, n in ids.items() if n > 1]
    if dup_ids:
        names = {i: [c.get("name") for c in categories if c.get("id") == i] for i in dup_ids}
        raise DatasetError(
            f"{where}: duplicate category ids: "
            + _first(f"id {i} is {', '.join(map(repr, names[i]))}" for i in dup_ids)
            + "; every category needs its own id (annotations of one would be trained as the other)"
        )
    names = Counter(c.get("name") for c in categories)
    dup_names = [n for n, k in names.items() if k > 1]
    if dup_names:
        raise DatasetError(
            f"{where}: duplicate category names: "
            + _first(f"{n!r} has ids {[c.get('id') for c in categories if c.get('name') == n]}" for n in dup_names)
            + "; class names must be unique (classes are matched by name)"
        )


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_image_records(images: Sequence[dict], where: str) -> None:
    """Every image record needs a ``file_name`` and positive integer ``width`` and ``height``.

    Raises:
        DatasetError: naming the images and the field.
    """
    bad = []
    for img in images:
        name = f"image id {img.get('id')} ({img.get('file_name', 'no file_name')})"
        if not isinstance(img.get("file_name"), str) or not img.get("file_name"):
            bad.append(f"{name}: field 'file_name' is missing or empty")
        for field in ("width", "height"):
            if field not in img:
                bad.append(f"{name}: field '{field}' is missing")
            elif not _positive_int(img[field]):
                bad.append(f"{name}: field '{field}' is {img[field]!r}, not a positive integer")
    if bad:
        raise DatasetError(f"{where}: {len(bad)} unusable image record(s): {_first(bad)}")


def _finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def annotation_problems(ann: dict, img: dict | None, cat_ids: set) -> list[str]:
    """What is wrong with one annotation record (empty when nothing): its image and category ids,
    its ``bbox`` (four finite numbers) and its ``segmentation`` (polygons of at least 3 points of
    finite numbers, or an RLE of its image's size)."""
    out = []
    if img is None:
        out.append(f"field 'image_id' is {ann.get('image_id')!r}, not an image of the file")
    if ann.get("category_id") not in cat_ids:
        out.append(f"field 'category_id' is {ann.get('category_id')!r}, not a category of the file")
    bbox = ann.get("bbox")
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(_finite_number(v) for v in bbox):
        out.append(f"field 'bbox' is {bbox!r}, not four finite numbers [x, y, w, h]")
    segm = ann.get("segmentation")
    if isinstance(segm, list):
        for k, poly in enumerate(segm):
            if not isinstance(poly, (list, tuple)) or not all(_finite_number(v) for v in poly):
                out.append(f"field 'segmentation' polygon {k} is not a list of finite numbers")
            elif len(poly) < 6 or len(poly) % 2:
                out.append(
                    f"field 'segmentation' polygon {k} has {len(poly)} coordinates: a polygon needs "
                    "at least 3 points (6 numbers, x and y pairs)"
                )
    elif isinstance(segm, dict):
        size = segm.get("size")
        if img is not None and list(size or ()) != [img.get("height"), img.get("width")]:
            out.append(
                f"field 'segmentation' is an RLE of size {size} but its image is "
                f"[{img.get('height')}, {img.get('width')}] (height, width)"
            )
        if not isinstance(segm.get("counts"), (str, bytes, list)):
            out.append("field 'segmentation' is an RLE without 'counts'")
    elif segm is not None:
        out.append(f"field 'segmentation' is a {type(segm).__name__}, not polygons or an RLE")
    return out


def check_annotation_records(
    annotations: Sequence[dict], images: dict[int, dict], categories: Sequence[dict], where: str
) -> None:
    """Run :func:`annotation_problems` over every annotation.

    Raises:
        DatasetError: naming the first annotations at fault (id, image file, field).
    """
    cat_ids = {c.get("id") for c in categories}
    bad = []
    for ann in annotations:
        img = images.get(ann.get("image_id"))
        for problem in annotation_problems(ann, img, cat_ids):
            file = f", image {img.get('file_name')}" if img else ""
            bad.append(f"annotation id {ann.get('id')}{file}: {problem}")
    if bad:
        raise DatasetError(f"{where}: {len(bad)} problem(s) in the annotations: {_first(bad)}")


# ---------------------------------------------------------------------- image files
@dataclass(frozen=True)
class ImageProblem:
    """A file that cannot be used: ``kind`` is ``'unreadable'`` (no image header, or truncated)
    or ``'size'`` (its decoded size differs from the annotation's); ``message`` names the cause."""

    kind: str
    message: str


_JPEG_END, _PNG_END = b"\xff\xd9", b"IEND"
_ROTATING_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that swap width and height


def _truncated(path: str, fmt: str | None) -> bool:
    """Whether a JPEG lacks its end-of-image marker or a PNG its IEND chunk near the file's end
    (how a copy cut short looks; the tail is read, nothing is decoded)."""
    if fmt not in ("JPEG", "PNG"):
        return False
    with open(path, "rb") as f:
        f.seek(max(os.path.getsize(path) - 1024, 0))
        tail = f.read()
    return (_JPEG_END if fmt == "JPEG" else _PNG_END) not in tail


def probe_image_file(path: str, height: int, width: int, apply_orientation: bool = True) -> ImageProblem | None:
    """Compare an image file's header with its annotation's ``height`` x ``width``.

    Args:
        apply_orientation: whether the loader rotates by the EXIF orientation tag (OpenCV's
            default, ``LoadImageFromFile(color_type='color')``).

    Returns:
        ``None`` when the file is usable, else what is wrong, with the likely cause for a size
        mismatch (EXIF rotation, width and height swapped in the json, or another image).
    """
    try:
        with Image.open(path) as im:
            w, h = im.size
            fmt = im.format
            orientation = im.getexif().get(0x0112, 1) if fmt in ("JPEG", "TIFF", "PNG", "WEBP") else 1
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        return ImageProblem("unreadable", f"{path}: not a readable image ({exc})")
    if w == 0 or h == 0:
        return ImageProblem("unreadable", f"{path}: the file says it is {w}x{h} pixels (width x height)")
    if _truncated(path, fmt):
        return ImageProblem("unreadable", f"{path}: the {fmt} file is truncated (its end marker is missing)")
    rotates = orientation in _ROTATING_ORIENTATIONS
    dh, dw = (w, h) if rotates and apply_orientation else (h, w)
    if (dh, dw) == (height, width):
        return None
    said = f"{path}: the annotation says {height}x{width} (height x width) but the file decodes as {dh}x{dw}"
    if rotates and apply_orientation and (h, w) == (height, width):
        cause = (
            f"its EXIF orientation tag ({orientation}) rotates it when loaded, and the annotation is "
            "in the stored frame: load it with LoadImageFromFile(color_type='color_ignore_orientation') "
            "or fix the annotation"
        )
    elif (dh, dw) == (width, height):
        cause = "the annotation file has width and height swapped (the file has no EXIF rotation)"
    else:
        cause = "the annotation file describes another image, or the image was resized"
    return ImageProblem("size", f"{said}; {cause}")
