"""A small Pascal VOC tree in VOC's own layout (``VOCdevkit/VOC2007``, ``VOC2012``: ``Annotations``,
``JPEGImages``, ``ImageSets/Main/{trainval,test}.txt``), for the dataset and config tests."""

import os
import shutil

import cv2
import numpy as np
import torch
from mmengine.structures import InstanceData

# per image: (name, xmin, ymin, xmax, ymax, difficult), VOC's 1-based pixel corners
OBJECTS = {
    "000001": [("dog", 10, 20, 110, 90, 0), ("person", 50, 5, 70, 60, 1), ("unicorn", 1, 1, 5, 5, 0)],
    "000002": [("car", 3.7, 4.2, 60.9, 40, 0)],
    "000003": [],
}


def write_voc(root: str, years: tuple[str, ...] = ("VOC2007",)) -> str:
    """Write the images of :data:`OBJECTS` under ``root/<year>`` (image ``i``: 120 wide, 100 + 10 i
    high; the last one's XML has no ``<size>``); every id in both lists. Returns ``root/``."""
    first = os.path.join(root, years[0])
    for folder in ("Annotations", "JPEGImages", "ImageSets/Main"):
        os.makedirs(os.path.join(first, folder), exist_ok=True)
    for i, (img_id, items) in enumerate(OBJECTS.items()):
        h, w = 100 + 10 * i, 120
        cv2.imwrite(os.path.join(first, "JPEGImages", f"{img_id}.jpg"), np.full((h, w, 3), 40 * i, np.uint8))
        xml = [f"<annotation><filename>{img_id}.jpg</filename>"]
        if img_id != "000003":
            xml.append(f"<size><width>{w}</width><height>{h}</height><depth>3</depth></size>")
        for name, x1, y1, x2, y2, difficult in items:
            xml.append(
                f"<object><name>{name}</name><difficult>{difficult}</difficult><bndbox><xmin>{x1}</xmin>"
                f"<ymin>{y1}</ymin><xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox></object>"
            )
        xml.append("</annotation>")
        with open(os.path.join(first, "Annotations", f"{img_id}.xml"), "w") as f:
            f.write("".join(xml))
    for split in ("trainval", "test"):
        with open(os.path.join(first, "ImageSets", "Main", f"{split}.txt"), "w") as f:
            f.write("\n".join(OBJECTS) + "\n")
    for year in years[1:]:
        shutil.copytree(first, os.path.join(root, year))
    return str(root).rstrip("/") + "/"


def ground_truth_scores(evaluator, loader) -> dict:
    """The evaluator's metrics when every image's ground truth (from the test pipeline) is its
    prediction, score 1: a perfect mAP when data, pipeline and metric agree."""
    evaluator.dataset_meta = loader.dataset.metainfo
    for batch in loader:
        for sample in batch["data_samples"]:
            gt = sample.gt_instances
            sample.pred_instances = InstanceData(bboxes=gt.bboxes, labels=gt.labels, scores=torch.ones(len(gt)))
        evaluator.process(batch["data_samples"])
    return evaluator.evaluate(len(loader.dataset))
