"""Compact prediction files (``tools/test.py --out``) and reading them back.

A ``.pkl`` holds a list with one dict per image in MMDetection's ``DumpDetResults`` layout, so
that MMDetection's analysis scripts read it: every metainfo key of the sample (``img_id``,
``img_path``, ``ori_shape``, ``img_shape``, ``scale_factor``...), and::

    pred_instances=dict(bboxes=(N, 4) float32 tensor, xyxy original-image pixels,
                        scores=(N,) float32 tensor, labels=(N,) int64 tensor,
                        masks=[RLE dict with bytes counts, ...])   # masks only for mask models

plus ``classes`` (the class names, which MMDetection's file does not carry); ground truth is left
out. A few kilobytes per image instead of megabytes of full-size boolean masks; the COCO results
json (``.bbox.json`` / ``.segm.json``) is written beside it by the evaluator.
"""

import pickle
from collections.abc import Sequence

import torch
from mmengine.evaluator import BaseMetric
from pycocotools.coco import COCO

from mmcascade.registry import METRICS

from .coco_eval import det_results_to_json, encode_masks, load_results_file

GROUND_TRUTH = ("gt_instances", "ignored_instances", "gt_panoptic_seg", "gt_sem_seg")


@METRICS.register_module()
class DumpDetResults(BaseMetric):
    """Collect every image's predictions in the compact form above and write them to
    ``out_file_path`` (``.pkl``) after the run; returns no metric.

    Args:
        out_file_path: the ``.pkl`` / ``.pickle`` file to write.
    """

    def __init__(self, out_file_path: str, collect_device: str = "cpu", prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not str(out_file_path).endswith((".pkl", ".pickle")):
            raise ValueError(f"DumpDetResults: out_file_path must end in .pkl or .pickle, got {out_file_path!r}")
        self.out_file_path = str(out_file_path)

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        classes = tuple((self.dataset_meta or {}).get("classes") or ())
        for sample in data_samples:
            sample = sample.to_dict() if hasattr(sample, "to_dict") else dict(sample)
            pred = sample["pred_instances"]
            compact = dict(
                bboxes=torch.as_tensor(pred["bboxes"]).detach().cpu().float(),
                scores=torch.as_tensor(pred["scores"]).detach().cpu().float(),
                labels=torch.as_tensor(pred["labels"]).detach().cpu().long(),
            )
            if "masks" in pred:
                compact["masks"] = [dict(rle, counts=rle["counts"].encode()) for rle in encode_masks(pred["masks"])]
            record = {k: v for k, v in sample.items() if k not in GROUND_TRUTH and k != "pred_instances"}
            self.results.append(dict(record, classes=classes, pred_instances=compact))

    def compute_metrics(self, results: list) -> dict:
        with open(self.out_file_path, "wb") as f:
            pickle.dump(results, f, protocol=4)
        return {}


def load_predictions(path: str) -> list[dict]:
    """Read a ``--out`` file (the compact ``.pkl`` above).

    Raises:
        ValueError: the file is not such a list of per-image predictions.
    """
    with open(path, "rb") as f:
        preds = pickle.load(f)  # our own output format: plain containers and numpy arrays
    if not isinstance(preds, list) or (preds and "pred_instances" not in preds[0]):
        raise ValueError(
            f"{path}: not a prediction file of tools/test.py --out (a list of per-image dicts with 'pred_instances')"
        )
    return preds


def predictions_to_coco(preds: list[dict], coco: COCO) -> tuple[list[dict], list[dict]]:
    """COCO ``bbox`` and ``segm`` result lists of :func:`load_predictions` output, with labels
    mapped to ``coco``'s category ids through the class names stored in the file (or the
    annotation file's category order when the file names none)."""
    name_to_id = {c["name"]: c["id"] for c in coco.dataset["categories"]}
    classes = preds[0].get("classes") if preds else None
    if classes:
        missing = [c for c in classes if c not in name_to_id]
        if missing:
            raise ValueError(f"classes {missing} of the predictions are not categories of the annotation file")
        cat_ids = [name_to_id[c] for c in classes]
    else:
        cat_ids = [c["id"] for c in coco.dataset["categories"]]
    flat = [dict(img_id=p["img_id"], **p["pred_instances"]) for p in preds]
    return det_results_to_json(flat, cat_ids)


def load_detections(path: str, coco: COCO, metric: str = "bbox") -> list[dict]:
    """COCO-json detections from a results ``.json`` or a ``--out`` ``.pkl`` file."""
    if str(path).endswith((".pkl", ".pickle")):
        bbox_json, segm_json = predictions_to_coco(load_predictions(path), coco)
        if metric == "segm" and not segm_json:
            raise ValueError(f"{path}: the predictions have no masks to evaluate as segm")
        return segm_json if metric == "segm" else bbox_json
    return load_results_file(path)
