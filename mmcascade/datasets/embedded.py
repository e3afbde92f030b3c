"""The embedded default dataset: textured, overlapping shapes with exact masks, as COCO json.

Deterministic for a seed. Objects are drawn back to front; each annotation is the *visible*
part of its object (RLE mask, tight box, area), so occlusion is real and boxes are exact,
which is what lets high-IoU (AP75) gains show.
"""

import json
import os
import os.path as osp
from dataclasses import dataclass

import cv2
import numpy as np
import pycocotools.mask as mask_utils

CLASSES = ("rectangle", "ellipse", "triangle", "star", "ring")


@dataclass(frozen=True)
class EmbeddedSpec:
    """Size of the generated dataset."""

    num_train: int = 240
    num_val: int = 60
    img_size: tuple[int, int] = (192, 256)  # (height, width), before per-image jitter
    max_objects: int = 6
    min_visible_area: int = 30
    seed: int = 0


def _shape_mask(rng: np.random.Generator, cls: str, h: int, w: int) -> np.ndarray:
    """A full (unoccluded) mask of one object with random size, aspect, position, rotation."""
    small = rng.random() < 0.25
    size = rng.uniform(10, 22) if small else rng.uniform(24, min(h, w) * 0.6)
    aspect = rng.uniform(0.5, 2.0)
    sw, sh = size * np.sqrt(aspect), size / np.sqrt(aspect)
    cx, cy = rng.uniform(sw / 3, w - sw / 3), rng.uniform(sh / 3, h - sh / 3)
    angle = rng.uniform(0, 180) if cls != "rectangle" or rng.random() < 0.5 else 0.0
    canvas = np.zeros((h, w), np.uint8)
    if cls == "ellipse":
        cv2.ellipse(canvas, (int(cx), int(cy)), (int(sw / 2), int(sh / 2)), angle, 0, 360, 1, -1)
    elif cls == "ring":
        r = int(size / 2)
        cv2.circle(canvas, (int(cx), int(cy)), r, 1, -1)
        cv2.circle(canvas, (int(cx), int(cy)), max(1, int(r * rng.uniform(0.35, 0.6))), 0, -1)
    else:
        pts = _polygon(rng, cls, sw, sh, angle) + np.array([cx, cy])
        cv2.fillPoly(canvas, [np.round(pts).astype(np.int32)], 1)
    return canvas


def _polygon(rng: np.random.Generator, cls: str, sw: float, sh: float, angle: float) -> np.ndarray:
    if cls == "rectangle":
        pts = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float) * [sw / 2, sh / 2]
    elif cls == "triangle":
        pts = np.array([[0, -1], [1, 1], [-1, 1]], float) * [sw / 2, sh / 2]
    else:  # star
        k = np.arange(10)
        radius = np.where(k % 2 == 0, 1.0, 0.45)
        theta = k * np.pi / 5 - np.pi / 2
        pts = np.stack([np.cos(theta) * radius * sw / 2, np.sin(theta) * radius * sh / 2], axis=1)
    t = np.deg2rad(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return pts @ rot.T


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A colour fill with stripes, checks or noise, ``(h, w, 3)`` uint8."""
    base = rng.integers(40, 230, size=3).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    kind = rng.integers(0, 3)
    if kind == 0:
        period = rng.uniform(4, 10)
        pattern = (np.sin((xx * np.cos(rng.uniform(0, 3)) + yy) / period * 2 * np.pi) > 0)[..., None]
    elif kind == 1:
        cell = int(rng.integers(3, 8))
        pattern = (((xx // cell) + (yy // cell)) % 2 == 0)[..., None]
    else:
        pattern = rng.random((h, w, 1)) > 0.5
    img = base + pattern * rng.uniform(-45, 45, size=3) + rng.normal(0, 6, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c0, c1 = rng.integers(0, 255, 3), rng.integers(0, 255, 3)
    t = (xx / w * rng.uniform(0, 1) + yy / h * rng.uniform(0, 1))[..., None] / 2
    img = c0 * (1 - t) + c1 * t + rng.normal(0, 10, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def _render_image(rng: np.random.Generator, spec: EmbeddedSpec) -> tuple[np.ndarray, list[dict]]:
    h = int(spec.img_size[0] * rng.uniform(0.8, 1.2))
    w = int(spec.img_size[1] * rng.uniform(0.8, 1.2))
    if rng.random() < 0.3:
        h, w = w, h  # some portrait images
    img = _background(rng, h, w)
    objects = []
    for _ in range(int(rng.integers(1, spec.max_objects + 1))):
        label = int(rng.integers(0, len(CLASSES)))
        mask = _shape_mask(rng, CLASSES[label], h, w)
        if mask.sum() == 0:
            continue
        img = np.where(mask[..., None] > 0, _texture(rng, h, w), img)
        for prev in objects:  # the new object hides what is behind it
            prev["mask"] = prev["mask"] & (1 - mask)
        objects.append(dict(label=label, mask=mask))
    return img, [o for o in objects if o["mask"].sum() >= spec.min_visible_area]


def _annotation(obj: dict, ann_id: int, img_id: int) -> dict:
    rle = mask_utils.encode(np.asfortranarray(obj["mask"]))
    x, y, bw, bh = (float(v) for v in mask_utils.toBbox(rle))
    return dict(
        id=ann_id,
        image_id=img_id,
        category_id=obj["label"] + 1,
        iscrowd=0,
        area=float(mask_utils.area(rle)),
        bbox=[x, y, bw, bh],
        segmentation=dict(size=list(rle["size"]), counts=rle["counts"].decode("ascii")),
    )


def generate_split(out_dir: str, split: str, num_images: int, spec: EmbeddedSpec, seed: int) -> str:
    """Write ``{out_dir}/{split}/*.png`` and ``{out_dir}/annotations/{split}.json``; return the json path."""
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    os.makedirs(osp.join(out_dir, "annotations"), exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        img, objects = _render_image(rng, spec)
        img_id = i + 1
        name = f"{split}/{img_id:05d}.png"
        cv2.imwrite(osp.join(out_dir, name), img)
        images.append(dict(id=img_id, file_name=name, height=img.shape[0], width=img.shape[1]))
        for obj in objects:
            annotations.append(_annotation(obj, len(annotations) + 1, img_id))
    categories = [dict(id=i + 1, name=n, supercategory="shape") for i, n in enumerate(CLASSES)]
    path = osp.join(out_dir, "annotations", f"{split}.json")
    with open(path, "w") as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return path


def _render_large_scene(
    rng: np.random.Generator, height: int, width: int, num_objects: int, spec: EmbeddedSpec
) -> tuple[np.ndarray, list[dict]]:
    """One ``height`` x ``width`` image with ``num_objects`` shapes at the embedded images' scale,
    each drawn in its own window of ``spec.img_size`` placed at random (memory follows the
    windows, not the image); later objects hide earlier ones. Objects carry ``mask`` (window
    bitmap, visible part) and ``origin`` ``(x, y)`` of the window."""
    img = _background(rng, height, width)
    wh, ww = spec.img_size
    objects: list[dict] = []
    for _ in range(num_objects):
        label = int(rng.integers(0, len(CLASSES)))
        mask = _shape_mask(rng, CLASSES[label], wh, ww)
        x, y = int(rng.integers(0, width - ww + 1)), int(rng.integers(0, height - wh + 1))
        if mask.sum() == 0:
            continue
        window = img[y : y + wh, x : x + ww]
        window[:] = np.where(mask[..., None] > 0, _texture(rng, wh, ww), window)
        for prev in objects:  # the new object hides the overlapping part of those behind it
            px, py = prev["origin"]
            xa, ya, xb, yb = max(x, px), max(y, py), min(x + ww, px + ww), min(y + wh, py + wh)
            if xa < xb and ya < yb:
                prev["mask"][ya - py : yb - py, xa - px : xb - px] &= 1 - mask[ya - y : yb - y, xa - x : xb - x]
        objects.append(dict(label=label, mask=mask, origin=(x, y)))
    return img, [o for o in objects if o["mask"].sum() >= spec.min_visible_area]


def generate_large_split(
    out_dir: str,
    split: str,
    num_images: int,
    size: tuple[int, int] = (1536, 2048),
    objects_per_mpix: float = 70.0,
    seed: int = 0,
) -> str:
    """Large images of many small shapes (aerial-like: the objects of the embedded dataset, at its
    scale, scattered over ``size`` = ``(height, width)``), as COCO json with RLE masks: the data
    that sliced inference is for. Writes ``{out_dir}/{split}/*.png`` and
    ``{out_dir}/annotations/{split}.json``; returns the json path."""
    from mmcascade.structures import CroppedMasks

    spec = EmbeddedSpec()
    rng = np.random.default_rng(seed)
    height, width = size
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    os.makedirs(osp.join(out_dir, "annotations"), exist_ok=True)
    images, annotations = [], []
    for i in range(num_images):
        count = int(round(objects_per_mpix * height * width / 1e6))
        img, objects = _render_large_scene(rng, height, width, count, spec)
        img_id = i + 1
        name = f"{split}/{img_id:05d}.png"
        cv2.imwrite(osp.join(out_dir, name), img)
        images.append(dict(id=img_id, file_name=name, height=height, width=width))
        for obj in objects:
            rle = CroppedMasks([obj["mask"]], [obj["origin"]], height, width).to_rle()[0]
            x, y, bw, bh = (float(v) for v in mask_utils.toBbox(rle))
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=img_id,
                    category_id=obj["label"] + 1,
                    iscrowd=0,
                    area=float(mask_utils.area(rle)),
                    bbox=[x, y, bw, bh],
                    segmentation=rle,
                )
            )
    categories = [dict(id=i + 1, name=n, supercategory="shape") for i, n in enumerate(CLASSES)]
    path = osp.join(out_dir, "annotations", f"{split}.json")
    with open(path, "w") as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return path


def generate_embedded_dataset(out_dir: str, spec: EmbeddedSpec = EmbeddedSpec()) -> dict[str, str]:
    """Generate the train and val splits (different seeds); returns their annotation paths."""
    return {
        "train": generate_split(out_dir, "train", spec.num_train, spec, spec.seed),
        "val": generate_split(out_dir, "val", spec.num_val, spec, spec.seed + 1000),
    }


def ensure_embedded_dataset(out_dir: str = "data/embedded", spec: EmbeddedSpec = EmbeddedSpec()) -> dict[str, str]:
    """Generate the dataset unless a complete copy is already there (marker file written last)."""
    marker = osp.join(out_dir, f".complete-seed{spec.seed}-{spec.num_train}-{spec.num_val}")
    paths = {s: osp.join(out_dir, "annotations", f"{s}.json") for s in ("train", "val")}
    if osp.exists(marker):
        return paths
    paths = generate_embedded_dataset(out_dir, spec)
    with open(marker, "w") as f:
        f.write("ok\n")
    return paths
