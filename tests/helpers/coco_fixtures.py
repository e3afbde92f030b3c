"""Tiny COCO-format fixtures written by the tests themselves."""

import json
import os.path as osp

import cv2
import numpy as np
import pycocotools.mask as mask_utils


def write_fixture(
    root: str,
    annotations: list[dict] | None = None,
    images: list[dict] | None = None,
    categories: list[dict] | None = None,
) -> str:
    """Two 60x80 images (one portrait 80x60) and annotations with a box, a crowd region,
    a polygon and an RLE mask. Returns the json path."""
    images = (
        images
        if images is not None
        else [
            dict(id=1, file_name="a.png", height=60, width=80),
            dict(id=2, file_name="b.png", height=80, width=60),
        ]
    )
    for img in images:
        path = osp.join(root, img["file_name"])
        if not osp.exists(path):
            cv2.imwrite(path, np.full((img["height"], img["width"], 3), 127, np.uint8))
    if annotations is None:
        rle_mask = np.zeros((80, 60), np.uint8)
        rle_mask[10:30, 5:25] = 1
        rle = mask_utils.encode(np.asfortranarray(rle_mask))
        annotations = [
            dict(
                id=1,
                image_id=1,
                category_id=1,
                bbox=[10, 5, 20, 30],
                area=600,
                iscrowd=0,
                segmentation=[[10, 5, 30, 5, 30, 35, 10, 35]],
            ),
            dict(
                id=2,
                image_id=1,
                category_id=3,
                bbox=[40, 10, 30, 20],
                area=600,
                iscrowd=1,
                segmentation=[[40, 10, 70, 10, 70, 30, 40, 30]],
            ),
            dict(
                id=3,
                image_id=2,
                category_id=3,
                bbox=[5, 10, 20, 20],
                area=400,
                iscrowd=0,
                segmentation=dict(size=[80, 60], counts=rle["counts"].decode()),
            ),
        ]
    categories = categories or [dict(id=1, name="cat"), dict(id=3, name="dog")]
    path = osp.join(root, "ann.json")
    with open(path, "w") as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return path
