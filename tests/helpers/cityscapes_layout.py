"""A small Cityscapes tree in the benchmark's layout: ``leftImg8bit/{split}/{city}/*_leftImg8bit.png``,
``gtFine/{split}/{city}/*_gtFine_instanceIds.png`` (16-bit: ``label id * 1000 + index`` for
instances) and the COCO-format ``annotations/instancesonly_filtered_gtFine_{split}.json`` that
MMDetection's Cityscapes configs read."""

import json
import os

import cv2
import numpy as np

# Cityscapes label ids of the eight instance classes, in the datasets' class order
LABEL_IDS = {"person": 24, "rider": 25, "car": 26, "truck": 27, "bus": 28, "train": 31, "motorcycle": 32, "bicycle": 33}
# per split, per image: [(class, x, y, w, h, iscrowd)], images 256 x 128
OBJECTS = {
    "train": [[("car", 10, 40, 60, 40, 0), ("person", 120, 20, 30, 80, 0)], [("car", 30, 30, 80, 50, 1)],
              [("bicycle", 100, 50, 50, 40, 0)]],
    "val": [[("car", 20, 50, 70, 40, 0), ("car", 150, 40, 60, 50, 0)], [("person", 60, 20, 40, 90, 0)]],
}  # fmt: skip


def write_cityscapes(root: str) -> str:
    """Write both splits under ``root`` (city ``ulm``); returns ``root/``. The train split's second
    image holds only a crowd region (dropped by ``filter_empty_gt``)."""
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    classes = list(LABEL_IDS)
    ann_id = 1
    for split, images in OBJECTS.items():
        data = dict(images=[], annotations=[], categories=[dict(id=i + 1, name=n) for i, n in enumerate(classes)])
        for k, objects in enumerate(images):
            stem = f"ulm_{k:06d}_000019"
            for folder in ("leftImg8bit", "gtFine"):
                os.makedirs(os.path.join(root, folder, split, "ulm"), exist_ok=True)
            image = np.full((128, 256, 3), 50, np.uint8)
            ids = np.zeros((128, 256), np.uint16)  # background: label id 0
            for n, (name, x, y, w, h, crowd) in enumerate(objects):
                image[y : y + h, x : x + w] = 40 + 20 * classes.index(name)
                ids[y : y + h, x : x + w] = LABEL_IDS[name] * (1 if crowd else 1000) + (0 if crowd else n)
                poly = [x, y, x + w, y, x + w, y + h, x, y + h]
                data["annotations"].append(
                    dict(id=ann_id, image_id=k + 1, category_id=classes.index(name) + 1, bbox=[x, y, w, h],
                         area=w * h, iscrowd=crowd, segmentation=[poly])
                )  # fmt: skip
                ann_id += 1
            cv2.imwrite(os.path.join(root, "leftImg8bit", split, "ulm", f"{stem}_leftImg8bit.png"), image)
            cv2.imwrite(os.path.join(root, "gtFine", split, "ulm", f"{stem}_gtFine_instanceIds.png"), ids)
            data["images"].append(dict(id=k + 1, file_name=f"ulm/{stem}_leftImg8bit.png", width=256, height=128))
        with open(os.path.join(root, "annotations", f"instancesonly_filtered_gtFine_{split}.json"), "w") as f:
            json.dump(data, f)
    return str(root).rstrip("/") + "/"
