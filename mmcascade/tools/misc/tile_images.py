"""Tile the newest pictures under a folder into one PNG: ``tile_images.py DIR --out F``."""

import argparse
import glob
import os
import os.path as osp

import cv2
import numpy as np


def tile(paths: list[str], columns: int = 2, width: int = 640) -> np.ndarray:
    """Scale every image to ``width`` and stack them ``columns`` a row (black padding)."""
    imgs = []
    for p in paths:
        img = cv2.imread(p)
        if img is None:
            continue
        imgs.append(cv2.resize(img, (width, max(1, round(img.shape[0] * width / img.shape[1])))))
    if not imgs:
        raise FileNotFoundError("no readable pictures to tile")
    rows = []
    for i in range(0, len(imgs), columns):
        row = imgs[i : i + columns]
        height = max(r.shape[0] for r in row)
        row = [cv2.copyMakeBorder(r, 0, height - r.shape[0], 0, 0, cv2.BORDER_CONSTANT) for r in row]
        while len(row) < columns:
            row.append(np.zeros((height, width, 3), np.uint8))
        rows.append(np.concatenate(row, axis=1))
    return np.concatenate(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root")
    parser.add_argument("--pattern", default="**/*.png")
    parser.add_argument("--out", required=True)
    parser.add_argument("--num", type=int, default=4)
    parser.add_argument("--columns", type=int, default=2)
    args = parser.parse_args()
    paths = sorted(glob.glob(osp.join(args.root, args.pattern), recursive=True), key=os.path.getmtime)
    newest_dir = osp.dirname(paths[-1]) if paths else None
    chosen = sorted(p for p in paths if osp.dirname(p) == newest_dir)[: args.num]
    cv2.imwrite(args.out, tile(chosen, args.columns))
    print(f"wrote {args.out} from {len(chosen)} pictures")


if __name__ == "__main__":
    main()
