"""A small LVIS tree in the layout MMDetection's LVIS configs read: COCO 2017 images under
``train2017`` / ``val2017`` and ``annotations/lvis_v1_{train,val}.json`` (v1: image records with
``coco_url`` and no ``file_name``) or ``annotations/lvis_v0.5_{train,val}.json`` (v0.5: COCO 2014
file names)."""

import json
import os

import cv2
import numpy as np

# id, name, frequency
CATEGORIES = [(1, "apple", "f"), (2, "banana", "c"), (3, "cherry", "r"), (4, "durian", "r")]
# per split, per image: [(category id, x, y, w, h)], images 96 x 80
OBJECTS = {
    "train": [[(1, 5, 5, 30, 25)], [(1, 40, 30, 40, 30)], [(2, 10, 40, 30, 30)],
              [(1, 50, 5, 30, 30), (2, 5, 5, 20, 20)], [(3, 20, 20, 40, 40)], [(2, 30, 10, 50, 40)]],
    "val": [[(1, 10, 10, 40, 30), (3, 55, 40, 30, 30)], [(2, 20, 20, 40, 40)], [(1, 5, 40, 30, 30)]],
}  # fmt: skip


def _image_record(version: str, split: str, img_id: int) -> dict:
    name = f"{img_id:012d}.jpg"
    record = dict(id=img_id, width=96, height=80, neg_category_ids=[4], not_exhaustive_category_ids=[])
    if version == "v1":
        record["coco_url"] = f"http://images.cocodataset.org/{split}2017/{name}"
    else:
        record["file_name"] = f"COCO_{split}2014_{name}"
    return record


def write_lvis(root: str, version: str = "v1") -> str:
    """Write images and both splits' annotation files under ``root``; returns ``root/``."""
    tag = "v1" if version == "v1" else "v0.5"
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    ann_id = 1
    for split, images in OBJECTS.items():
        os.makedirs(os.path.join(root, f"{split}2017"), exist_ok=True)
        data = dict(
            images=[],
            annotations=[],
            categories=[dict(id=i, name=n, frequency=f, synset=f"{n}.n.01") for i, n, f in CATEGORIES],
        )
        for k, objects in enumerate(images):
            img_id = (1 if split == "train" else 101) + k
            image = np.full((80, 96, 3), 30, np.uint8)
            for cat, x, y, w, h in objects:
                image[y : y + h, x : x + w] = 60 * cat
                poly = [x, y, x + w, y, x + w, y + h, x, y + h]
                data["annotations"].append(
                    dict(
                        id=ann_id, image_id=img_id, category_id=cat, bbox=[x, y, w, h], area=w * h, segmentation=[poly]
                    )
                )
                ann_id += 1
            cv2.imwrite(os.path.join(root, f"{split}2017", f"{img_id:012d}.jpg"), image)
            data["images"].append(_image_record(version, split, img_id))
        with open(os.path.join(root, "annotations", f"lvis_{tag}_{split}.json"), "w") as f:
            json.dump(data, f)
    return str(root).rstrip("/") + "/"
