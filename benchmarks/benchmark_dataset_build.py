"""How long a COCO-format dataset takes to build, with the checks it runs before any iteration.

    python benchmarks/benchmark_dataset_build.py [--images 14000] [--annotations 100000]

Writes a COCO json of ``--images`` small JPEG files and ``--annotations`` polygon annotations
(COCO's density: about 7 per image) to a temporary folder, then builds ``CocoDataset`` on it
twice in fresh processes: with every check (records, and each image file's header against its
record) and with the image-file checks off (``check_image_files=False``, records only). Prints
seconds for each.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

CHILD = """
import sys, time, warnings
warnings.simplefilter("ignore")
from mmcascade.datasets import CocoDataset
t = time.perf_counter()
ds = CocoDataset(ann_file=sys.argv[1], data_prefix=dict(img=sys.argv[2]), metainfo=dict(classes=("a", "b", "c")),
                 pipeline=[], check_image_files=sys.argv[3] == "1")
print(f"{time.perf_counter() - t:.2f} {len(ds)}")
"""


def write_dataset(root: str, num_images: int, num_anns: int) -> str:
    import cv2

    rng = np.random.default_rng(0)
    jpeg = cv2.imencode(".jpg", rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))[1].tobytes()
    images, anns = [], []
    for i in range(num_images):
        name = f"{i:06d}.jpg"
        with open(os.path.join(root, name), "wb") as f:
            f.write(jpeg)
        images.append(dict(id=i + 1, file_name=name, height=48, width=64))
    for k in range(num_anns):
        x, y = rng.uniform(0, 40), rng.uniform(0, 30)
        anns.append(
            dict(
                id=k + 1,
                image_id=int(rng.integers(1, num_images + 1)),
                category_id=int(rng.integers(1, 4)),
                bbox=[x, y, 10.0, 8.0],
                area=80.0,
                iscrowd=0,
                segmentation=[[x, y, x + 10, y, x + 10, y + 8, x, y + 8]],
            )
        )
    cats = [dict(id=i + 1, name=n) for i, n in enumerate("abc")]
    path = os.path.join(root, "ann.json")
    with open(path, "w") as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=14000)
    parser.add_argument("--annotations", type=int, default=100000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        ann = write_dataset(root, args.images, args.annotations)
        print(f"{args.images} images, {args.annotations} annotations written in {time.perf_counter() - start:.1f} s")
        for label, files in (("every check (records + image headers)", "1"), ("records only", "0")):
            out = (
                subprocess.run(
                    [sys.executable, "-c", CHILD, ann, root + "/", files], capture_output=True, text=True, check=True
                )
                .stdout.strip()
                .splitlines()[-1]
                .split()
            )
            print(f"{label:<40} {out[0]:>7} s  ({out[1]} images)")


if __name__ == "__main__":
    main()
