"""A small dataset in COCO 2017's layout, made from the embedded shapes generator:
``annotations/instances_{train,val}2017.json``, ``train2017/``, ``val2017/``, all 80 COCO
categories with their real (gapped) ids, polygon masks, one crowd region (RLE) per split and
one image without annotations per split."""

import json
import os
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from mmcascade.config.class_names import COCO_CLASSES
from mmcascade.datasets.embedded import EmbeddedSpec, _render_image

COCO_IDS = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    10,
    11,
    13,
    14,
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    27,
    28,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    38,
    39,
    40,
    41,
    42,
    43,
    44,
    46,
    47,
    48,
    49,
    50,
    51,
    52,
    53,
    54,
    55,
    56,
    57,
    58,
    59,
    60,
    61,
    62,
    63,
    64,
    65,
    67,
    70,
    72,
    73,
    74,
    75,
    76,
    77,
    78,
    79,
    80,
    81,
    82,
    84,
    85,
    86,
    87,
    88,
    89,
    90,
]
# The five shapes stand for these COCO categories (spread over the id range, gaps included).
SHAPE_TO_COCO_ID = (1, 3, 18, 44, 85)


def _polygons(mask: np.ndarray) -> list[list[float]]:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    return [c.reshape(-1).astype(float).tolist() for c in contours if len(c) >= 3]


def write_coco2017(root: str, num_train: int = 5, num_val: int = 3, seed: int = 0) -> str:
    """Write the dataset under ``root`` and return ``root`` with a trailing slash. Train images
    are all landscape, so a batch of two never mixes orientations."""
    spec = EmbeddedSpec(img_size=(240, 320), max_objects=4, seed=seed)
    rng = np.random.default_rng(seed)
    for split, count in (("train2017", num_train), ("val2017", num_val)):
        os.makedirs(osp.join(root, split), exist_ok=True)
        images, anns = [], []
        for i in range(count):
            img, objects = _render_image(rng, spec)
            if split == "train2017" and img.shape[0] > img.shape[1]:
                img = np.ascontiguousarray(img.transpose(1, 0, 2))
                objects = [dict(o, mask=np.ascontiguousarray(o["mask"].T)) for o in objects]
            img_id = 1000 * (split == "val2017") + 7 * i + 3  # sparse ids, as in COCO
            name = f"{img_id:012d}.jpg"
            cv2.imwrite(osp.join(root, split, name), img)
            h, w = img.shape[:2]
            images.append(dict(id=img_id, file_name=name, height=h, width=w))
            if i == count - 1:
                continue  # an image without annotations
            for j, obj in enumerate(objects):
                polys = _polygons(obj["mask"])
                if not polys:
                    continue
                rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
                x, y, bw, bh = (float(v) for v in mask_utils.toBbox(rle))
                crowd = j == 0 and i == 0
                segm = (
                    dict(size=[h, w], counts=mask_utils.encode(np.asfortranarray(obj["mask"]))["counts"].decode())
                    if crowd
                    else polys
                )
                anns.append(
                    dict(
                        id=len(anns) + 1 + 500 * (split == "val2017"),
                        image_id=img_id,
                        category_id=SHAPE_TO_COCO_ID[obj["label"]],
                        iscrowd=int(crowd),
                        area=float(mask_utils.area(rle)),
                        bbox=[x, y, bw, bh],
                        segmentation=segm,
                    )
                )
        categories = [dict(id=cid, name=name, supercategory="thing") for cid, name in zip(COCO_IDS, COCO_CLASSES)]
        os.makedirs(osp.join(root, "annotations"), exist_ok=True)
        with open(osp.join(root, "annotations", f"instances_{split}.json"), "w") as f:
            json.dump(dict(info={}, licenses=[], images=images, annotations=anns, categories=categories), f)
    return root.rstrip("/") + "/"
