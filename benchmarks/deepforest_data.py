"""A real dataset from a package: DeepForest's tree crowns, as a tiled COCO dataset.

    python benchmarks/deepforest_data.py [--root data/deepforest] [--wheel deepforest-2.1.0-py3-none-any.whl]

The ``deepforest`` package (2.1.0, MIT) ships NEON aerial RGB images (10 cm per pixel) with
hand-drawn tree-crown boxes as Pascal VOC xml. Its wheel is fetched from the package registry with
``pip download --no-deps`` (nothing of it is installed) unless ``--wheel`` names one, and the images
are read from it:

- train: ``2019_YELL_2_528000_4978000_image_crop2.png`` (2299x2472, 574 crowns) cut into 512x512
  tiles overlapping by 20 % (36 tiles);
- val: ``2019_YELL_2_541000_4977000_image_crop.png`` (1249x1035, 279 crowns) cut the same way
  (9 tiles), ``OSBS_029.png`` (400x400, 61 crowns, another site) and ``SOAP_061.png`` (400x400,
  37 crowns labelled Alive / Dead, a third site) whole.

Every crown is one class, ``tree``. A crown cut by a tile edge is kept (its box clipped to the
tile) when at least half of its box lies in the tile, and marked ``iscrowd`` (ignored by training
and by COCO evaluation) when less does. Writes ``ROOT/{train,val}/*.png`` and
``ROOT/annotations/{train,val}.json``; an existing ROOT is refused unless ``--overwrite``.
"""

import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence

import numpy as np
from PIL import Image

from mmcascade.datasets.converters import voc_to_coco
from mmcascade.slicing.tiles import Tile, tile_grid

WHEEL = "deepforest==2.1.0"
DATA = "deepforest/data/"
TRAIN = ["2019_YELL_2_528000_4978000_image_crop2"]
VAL = ["2019_YELL_2_541000_4977000_image_crop", "OSBS_029", "SOAP_061"]
TILE = 512
OVERLAP = 0.2
MIN_INSIDE = 0.5


def fetch_wheel(folder: str) -> str:
    """Download DeepForest's wheel (no dependencies) into ``folder``; returns its path."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", WHEEL, "-d", folder], check=True)
    wheels = [f for f in os.listdir(folder) if f.startswith("deepforest-") and f.endswith(".whl")]
    if not wheels:
        raise SystemExit(f"pip download {WHEEL} wrote no wheel into {folder}")
    return osp.join(folder, wheels[0])


def tile_annotations(
    boxes: np.ndarray, crowd: np.ndarray, tile: Tile, min_inside: float = MIN_INSIDE
) -> list[tuple[list[float], int]]:
    """The boxes of one tile.

    Args:
        boxes: (N, 4) float, xywh, full-image pixels.
        crowd: (N,) int, the source's ``iscrowd``.
        tile: the window.
        min_inside: a box with at least this fraction of its area in the tile is kept (clipped);
            one with less, but some, becomes ``iscrowd=1``.

    Returns:
        ``(xywh in tile pixels, iscrowd)`` for each box that overlaps the tile.
    """
    x1 = np.clip(boxes[:, 0], tile.x, tile.x + tile.w)
    y1 = np.clip(boxes[:, 1], tile.y, tile.y + tile.h)
    x2 = np.clip(boxes[:, 0] + boxes[:, 2], tile.x, tile.x + tile.w)
    y2 = np.clip(boxes[:, 1] + boxes[:, 3], tile.y, tile.y + tile.h)
    inside = (x2 - x1) * (y2 - y1) / (boxes[:, 2] * boxes[:, 3])
    out = []
    for k in np.flatnonzero((x2 > x1) & (y2 > y1)):
        box = [float(x1[k] - tile.x), float(y1[k] - tile.y), float(x2[k] - x1[k]), float(y2[k] - y1[k])]
        out.append((box, int(crowd[k] or inside[k] < min_inside)))
    return out


def build_split(source: dict, image_dir: str, stems: Sequence[str], out_dir: str) -> dict:
    """Cut the ``stems`` images of the VOC-converted ``source`` into tiles written to ``out_dir``;
    returns the split's COCO dict (one category, ``tree``)."""
    os.makedirs(out_dir, exist_ok=True)
    images, annotations = [], []
    by_name = {osp.splitext(img["file_name"])[0]: img for img in source["images"]}
    for stem in stems:
        img = by_name[stem]
        anns = [a for a in source["annotations"] if a["image_id"] == img["id"]]
        boxes = np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4)
        crowd = np.array([a["iscrowd"] for a in anns], dtype=np.int64)
        pixels = np.asarray(Image.open(osp.join(image_dir, stem + ".png")).convert("RGB"))  # OSBS_029.xml names a .tif
        height, width = pixels.shape[:2]
        for tile in tile_grid(height, width, (TILE, TILE), OVERLAP):
            name = f"{stem}_{tile.x}_{tile.y}.png" if (tile.w, tile.h) != (width, height) else f"{stem}.png"
            Image.fromarray(pixels[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w]).save(osp.join(out_dir, name))
            image_id = len(images) + 1
            images.append(dict(id=image_id, file_name=name, width=tile.w, height=tile.h))
            for box, iscrowd in tile_annotations(boxes, crowd, tile):
                annotations.append(
                    dict(
                        id=len(annotations) + 1,
                        image_id=image_id,
                        category_id=1,
                        bbox=box,
                        area=box[2] * box[3],
                        iscrowd=iscrowd,
                    )
                )
    return dict(images=images, annotations=annotations, categories=[dict(id=1, name="tree")])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default="data/deepforest", help="where the tiled dataset goes")
    parser.add_argument("--wheel", help="a deepforest wheel already downloaded (default: pip download it)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing ROOT")
    args = parser.parse_args(argv)
    if osp.exists(args.root) and not args.overwrite:
        parser.error(f"{args.root} exists; pass --overwrite to replace it")
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(tmp)
        voc = osp.join(tmp, "voc")
        for sub in ("Annotations", "JPEGImages"):
            os.makedirs(osp.join(voc, sub))
        with zipfile.ZipFile(wheel) as zf:
            for stem in TRAIN + VAL:
                for ext, sub in ((".xml", "Annotations"), (".png", "JPEGImages")):
                    with zf.open(DATA + stem + ext) as src, open(osp.join(voc, sub, stem + ext), "wb") as dst:
                        shutil.copyfileobj(src, dst)
        Image.MAX_IMAGE_PIXELS = None
        source = voc_to_coco(voc)  # checks every record, naming the file and object
        build = osp.join(tmp, "build")
        splits = {}
        for split, stems in (("train", TRAIN), ("val", VAL)):
            splits[split] = build_split(source, osp.join(voc, "JPEGImages"), stems, osp.join(build, split))
        os.makedirs(osp.join(build, "annotations"))
        for split, coco in splits.items():
            with open(osp.join(build, "annotations", f"{split}.json"), "w") as f:
                json.dump(coco, f)
        if osp.exists(args.root):
            shutil.rmtree(args.root)
        os.makedirs(osp.dirname(osp.abspath(args.root)), exist_ok=True)
        shutil.move(build, args.root)
    for split, coco in splits.items():
        kept = sum(1 for a in coco["annotations"] if not a["iscrowd"])
        print(f"{split}: {len(coco['images'])} images, {kept} crowns (+{len(coco['annotations']) - kept} ignored)")
    print(f"wrote {args.root}/annotations/{{train,val}}.json and the tiles in {args.root}/{{train,val}}/")


if __name__ == "__main__":
    main()
