"""What one box stage of a RoI head saw and said in one pass (:meth:`BaseRoIHead.run_stages`)."""

from dataclasses import dataclass

import torch
from torch import Tensor

from ..task_modules import SamplingResult
from .bbox_heads import BBoxTargets


@dataclass(frozen=True)
class StageRecord:
    """What one box stage saw and said in :meth:`BaseRoIHead.run_stages`.

    Attributes:
        rois: ``(K, 5)`` float32, the RoIs entering the stage (batch index, xyxy input-image pixels).
        cls_score: ``(K, C + 1)`` class logits (background last).
        bbox_pred: ``(K, 4)`` or ``(K, 4 C)`` encoded deltas.
        refined: per image ``(K_i, 4)`` xyxy input-image pixels, the stage's regression of its RoIs
            with each RoI's class, clipped (the next stage's input); ``None`` for the last stage.
            In training, RoIs that were ground-truth boxes are dropped.
        samples: per image, the stage's assignment and sampling (training only).
        targets: the box targets of the sampled RoIs (training only).
        roi_feats: ``(K, C, s, s)`` the pooled (and shared-head) features of the RoIs, kept in
            training when the mask branch reuses them (a C4 head without its own mask extractor).
    """

    rois: Tensor
    cls_score: Tensor
    bbox_pred: Tensor
    refined: list[Tensor] | None
    samples: list[SamplingResult] | None = None
    targets: BBoxTargets | None = None
    roi_feats: Tensor | None = None


def positive_rows(samples: list[SamplingResult]) -> Tensor:
    """``(P,)`` int64: the rows of the positives among a batch's sampled RoIs concatenated image
    after image (each image's block starts with its positives)."""
    starts = torch.tensor([0] + [s.num_pos + s.num_neg for s in samples][:-1]).cumsum(0).tolist()
    return torch.cat([torch.arange(o, o + s.num_pos) for o, s in zip(starts, samples)])
