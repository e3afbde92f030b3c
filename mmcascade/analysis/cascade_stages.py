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
from mmcascade.structures import bbox2roi, bbox_overlaps


@dataclass(frozen=True)
class StageOutputs:
    """One image. Boxes are xyxy pixels of the *original* image (rescaled from the network
    input); ``K`` RoIs per stage, ``C`` foreground classes."""

    img_id: int
    rois: list[Tensor]    # per stage: (K, 4) float32, the boxes entering the stage
    probs: list[Tensor]   # per stage: (K, C + 1) float32 softmax of its own classifier
    boxes: list[Tensor]   # per stage: (K, 4) or (K, 4 C) float32, its regression of its RoIs
    ensemble: Tensor      # (K, C + 1) float32, the model's test-time ensemble of the stages


@torch.no_grad()
def run_stages(model, data: dict) -> tuple[list[StageOutputs], list]:
    """Forward one collated batch (as a dataloader yields it) through ``model``'s cascade.

    Returns:
        per-image :class:`StageOutputs`, and the data samples (with ``gt_instances`` when the
        pipeline loads annotations).
    """
    roi_head = model.roi_head
    if getattr(roi_head, "num_stages", 1) < 2:
        raise ValueError(f"{type(model).__name__} has a single RoI stage: nothing to analyse per stage")
    batch = model.data_preprocessor(data, False)
    samples = batch["data_samples"]
    feats = model.roi_feature_layout(model.extract_feat(batch["inputs"]))  # as predict() does
    proposals = model.rpn_head.predict(feats, samples)
    metas = [s.metainfo for s in samples]
    counts = [len(p) for p in proposals]
    rois = bbox2roi([p.bboxes for p in proposals])
    stage_rois, stage_logits, stage_boxes = [], [], []
    for stage in range(roi_head.num_stages):
        head = roi_head.stage_modules(stage)[1]
        cls_score, bbox_pred = roi_head.bbox_forward(stage, feats, rois)
        stage_rois.append(rois)
        stage_logits.append(cls_score)
        per_image = [head.decode_all(r[:, 1:], d, m["img_shape"])
                     for r, d, m in zip(rois.split(counts), bbox_pred.split(counts), metas)]
        stage_boxes.append(torch.cat(per_image) if per_image else bbox_pred.new_zeros((0, 4)))
        if stage < roi_head.num_stages - 1:
            rois = roi_head._refine_test(stage, rois, cls_score, bbox_pred, metas)
    if roi_head.test_ensemble == "logits":
        ensemble = F.softmax(torch.stack(stage_logits).mean(0), dim=-1)
    else:  # the author's variant: every stage's classifier on the last stage's RoIs
        ensemble = torch.stack([F.softmax(roi_head.bbox_forward(s, feats, rois)[0], dim=-1)
                                for s in range(roi_head.num_stages)]).mean(0)
    outputs = []
    for i, meta in enumerate(metas):
        scale = torch.tensor(meta["scale_factor"], dtype=torch.float32).repeat(2)

        def mine(t: Tensor, i: int = i) -> Tensor:
            return t.split(counts)[i]
        outputs.append(StageOutputs(
            img_id=int(meta.get("img_id", i)),
            rois=[mine(r)[:, 1:] / scale for r in stage_rois],
            probs=[F.softmax(mine(lg), dim=-1) for lg in stage_logits],
            boxes=[mine(b) / scale.repeat(mine(b).shape[1] // 4) for b in stage_boxes],
            ensemble=mine(ensemble)))
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
