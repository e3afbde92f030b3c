"""Confusion matrix of a COCO results file against its config's test annotations, as a PNG
and a .npy of the raw counts.

    python tools/analysis_tools/confusion_matrix.py CONFIG RESULTS.bbox.json SAVE_DIR \\
        [--score-thr 0.3] [--tp-iou-thr 0.5]

RESULTS is a COCO results json or the ``.pkl`` of ``tools/test.py --out`` (which also writes
the json beside it).
"""

import argparse
import os
import os.path as osp

import numpy as np
from mmengine.config import DictAction

from mmcascade.analysis.confusion import image_confusion, plot_confusion
from mmcascade.config.classes import config_class_names
from mmcascade.config.loading import load_tool_config
from mmcascade.evaluation.coco_eval import load_coco
from mmcascade.evaluation.results_io import load_detections
from mmcascade.utils import register_all_modules


def _xyxy(anns: list[dict]) -> np.ndarray:
    boxes = np.array([a["bbox"] for a in anns], np.float32).reshape(-1, 4)
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def confusion_from_files(
    ann_file: str, results: list[dict], classes: list[str], score_thr: float, tp_iou_thr: float
) -> np.ndarray:
    coco = load_coco(ann_file)
    name_to_id = {c["name"]: c["id"] for c in coco.dataset["categories"]}
    label_of = {name_to_id[n]: i for i, n in enumerate(classes)}
    by_image: dict[int, list[dict]] = {}
    for det in results:
        if det["score"] >= score_thr and det["category_id"] in label_of:
            by_image.setdefault(det["image_id"], []).append(det)
    matrix = np.zeros((len(classes) + 1, len(classes) + 1), np.int64)
    for img_id in coco.getImgIds():
        gts = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=False)) if a["category_id"] in label_of]
        dets = by_image.get(img_id, [])
        matrix += image_confusion(
            _xyxy(gts),
            np.array([label_of[a["category_id"]] for a in gts], int),
            _xyxy(dets),
            np.array([label_of[d["category_id"]] for d in dets], int),
            len(classes),
            tp_iou_thr,
        )
    return matrix


def main(argv: list[str] | None = None) -> np.ndarray:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("results", help="COCO results json (bbox) or tools/test.py --out .pkl")
    parser.add_argument("save_dir")
    parser.add_argument("--score-thr", type=float, default=0.3)
    parser.add_argument("--tp-iou-thr", type=float, default=0.5)
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(argv)
    register_all_modules()
    cfg = load_tool_config(args.config, args.cfg_options)
    classes = list(config_class_names(cfg) or ())
    if not classes:
        parser.error(f"{args.config}: the test dataset declares no class names")
    ann_file = cfg.test_evaluator.ann_file
    matrix = confusion_from_files(
        ann_file, load_detections(args.results, load_coco(ann_file)), classes, args.score_thr, args.tp_iou_thr
    )
    os.makedirs(args.save_dir, exist_ok=True)
    np.save(osp.join(args.save_dir, "confusion_matrix.npy"), matrix)
    plot_confusion(matrix, classes, osp.join(args.save_dir, "confusion_matrix.png"))
    print(f"saved confusion_matrix.png and confusion_matrix.npy to {args.save_dir}")
    return matrix


if __name__ == "__main__":
    main()
