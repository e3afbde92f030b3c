"""Run a cascade on a batch and keep what every stage saw and said: the RoIs entering it, its
class probabilities and its regressed boxes; then turn any stage (or the ensemble) into
detections, and measure the IoU of RoIs before and after each stage's regressor.

This is the measurement behind the stage-performance table and the localisation plots of the
Cascade R-CNN papers (Cai & Vasconcelos, CVPR 2018 Fig. 1 and 2; TPAMI 2019 Table 3).
"""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from mmcascade.models.layers import multiclass_nms
from mmcascade.models.roi_heads.detections import to_original_frame
from mmcascade.structures import bbox_overlaps


@dataclass(frozen=True)
class StageOutputs:
    """One image. Boxes are xyxy pixels of the *original* image (rescaled from the network
    input); ``K`` RoIs per stage, ``C`` foreground classes."""

    img_id: int
    rois: list[Tensor]  # per stage: (K, 4) float32, the boxes entering the stage
    probs: list[Tensor]  # per stage: (K, C + 1) float32 softmax of its own classifier
    boxes: list[Tensor]  # per stage: (K, 4) or (K, 4 C) float32, its regression of its RoIs
    ensemble: Tensor  # (K, C + 1) float32, the model's test-time ensemble of the stages


@torch.no_grad()
def stage_outputs(model, data: dict) -> tuple[list[StageOutputs], list]:
    """Forward one collated batch (as a dataloader yields it) through ``model``'s cascade, with
    the head's own :meth:`~mmcascade.models.roi_heads.BaseRoIHead.run_stages` and ensemble.

    Returns:
        per-image :class:`StageOutputs`, and the data samples (with ``gt_instances`` when the
        pipeline loads annotations).
    """
    roi_head = model.roi_head
    if roi_head.num_stages < 2:
        raise ValueError(f"{type(model).__name__} has a single RoI stage: nothing to analyse per stage")
    batch = model.data_preprocessor(data, False)
    samples = batch["data_samples"]
    feats = model.roi_feature_layout(model.extract_feat(batch["inputs"]))  # as predict() does
    proposals = model.rpn_head.predict(feats, samples)
    metas = [s.metainfo for s in samples]
    counts = [len(p) for p in proposals]
    records = roi_head.run_stages(feats, [p.bboxes for p in proposals], metas)
    ensemble = roi_head.ensemble_probs(feats, records)
    outputs = []
    rois_per_stage = [torch.split(r.rois[:, 1:], counts) for r in records]
    deltas_per_stage = [torch.split(r.bbox_pred, counts) for r in records]
    probs_per_stage = [torch.split(F.softmax(r.cls_score, dim=-1), counts) for r in records]
    ensembles = torch.split(ensemble, counts)
    for i, meta in enumerate(metas):
        rois = [per_image[i] for per_image in rois_per_stage]
        boxes_img = [
            roi_head.stage_bbox_head(s).decode_all(rois[s], deltas_per_stage[s][i], meta["img_shape"])
            for s in range(len(records))
        ]
        outputs.append(
            StageOutputs(
                img_id=int(meta.get("img_id", i)),
                rois=[to_original_frame(r, meta) for r in rois],
                probs=[per_image[i] for per_image in probs_per_stage],
                boxes=[to_original_frame(b, meta) for b in boxes_img],
                ensemble=ensembles[i],
            )
        )
    return outputs, samples


def detections(boxes: Tensor, probs: Tensor, test_cfg: dict) -> tuple[Tensor, Tensor, Tensor]:
    """Score threshold, per-class NMS and top-k as at test time: ``bboxes (N, 4)``,
    ``scores (N,)``, ``labels (N,)``."""
    dets, labels = multiclass_nms(boxes, probs, test_cfg["score_thr"], test_cfg["nms"], test_cfg["max_per_img"])
    return dets[:, :4], dets[:, 4], labels


def variants(out: StageOutputs) -> dict[str, tuple[Tensor, Tensor]]:
    """(boxes, probabilities) for each row of the stage table: every stage on its own, the
    ensemble (the model's output), and earlier stages' boxes with the ensemble's scores."""
    n = len(out.rois)
    rows = {f"stage {s + 1}": (out.boxes[s], out.probs[s]) for s in range(n)}
    rows[f"ensemble 1~{n}"] = (out.boxes[-1], out.ensemble)
    for s in range(n - 1):
        rows[f"stage {s + 1} + ensemble score"] = (out.boxes[s], out.ensemble)
    return rows


def _own_class_boxes(boxes: Tensor, labels: Tensor) -> Tensor:
    if boxes.shape[1] == 4:
        return boxes
    return boxes.reshape(boxes.shape[0], -1, 4)[torch.arange(len(labels)), labels]


def iou_pairs(out: StageOutputs, gt_boxes: Tensor, gt_labels: Tensor) -> list[np.ndarray]:
    """Per stage, an ``(K, 2)`` array: each RoI's IoU with its best-matching ground truth before
    the stage (input IoU) and after the stage's regressor for that ground truth's class
    (output IoU). Empty ``(0, 2)`` when the image has no ground truth."""
    pairs = []
    for rois, boxes in zip(out.rois, out.boxes):
        if len(gt_boxes) == 0 or len(rois) == 0:
            pairs.append(np.zeros((0, 2), np.float32))
            continue
        iou_in, match = bbox_overlaps(rois, gt_boxes).max(dim=1)
        regressed = _own_class_boxes(boxes, gt_labels[match])
        iou_out = bbox_overlaps(regressed, gt_boxes, mode="iou")[torch.arange(len(match)), match]
        pairs.append(torch.stack([iou_in, iou_out], dim=1).numpy())
    return pairs
