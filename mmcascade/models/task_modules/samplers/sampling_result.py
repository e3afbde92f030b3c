"""The boxes a sampler kept for one image."""

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class SamplingResult:
    """Positives first, then negatives.

    Attributes:
        pos_inds, neg_inds: ``(P,)``, ``(Q,)`` int64 indices into ``priors``.
        candidates: ``(M, 4)`` the boxes sampled from (ground truth first when added).
        gt_bboxes: ``(G, 4)`` the image's ground truth.
        pos_assigned_gt_inds: ``(P,)`` int64, gt index of each positive.
        pos_gt_labels: ``(P,)`` int64 classes of the positives.
        pos_is_gt: ``(P,)`` uint8, 1 where the positive is a ground-truth box itself.
        num_gts: ``G``.
        avg_factor_with_neg: whether the loss normaliser counts negatives too.
        max_overlaps: ``(M,)`` each candidate's best IoU with the ground truth (1 for the
            ground-truth boxes added), MMDetection's ``assign_result.max_overlaps`` after sampling.
    """

    pos_inds: Tensor
    neg_inds: Tensor
    candidates: Tensor
    gt_bboxes: Tensor
    pos_assigned_gt_inds: Tensor
    pos_gt_labels: Tensor
    pos_is_gt: Tensor
    num_gts: int
    avg_factor_with_neg: bool = True
    max_overlaps: Tensor | None = None

    @property
    def pos_priors(self) -> Tensor:
        return self.candidates[self.pos_inds]

    @property
    def neg_priors(self) -> Tensor:
        return self.candidates[self.neg_inds]

    @property
    def priors(self) -> Tensor:
        """``(P + Q, 4)`` the sampled boxes, positives first."""
        return torch.cat([self.pos_priors, self.neg_priors])

    @property
    def pos_gt_bboxes(self) -> Tensor:
        if self.gt_bboxes.numel() == 0:
            return self.gt_bboxes.new_zeros((0, 4))
        return self.gt_bboxes[self.pos_assigned_gt_inds]

    @property
    def num_pos(self) -> int:
        return int(self.pos_inds.numel())

    @property
    def num_neg(self) -> int:
        return int(self.neg_inds.numel())

    def without_gt_rois(self, rows: Tensor) -> Tensor:
        """``rows`` (one per sampled RoI, positives first) without those whose RoI was a
        ground-truth box added as a proposal."""
        keep = torch.ones(rows.shape[0], dtype=torch.bool, device=rows.device)
        keep[: self.num_pos] = self.pos_is_gt == 0
        return rows[keep]

    @property
    def avg_factor(self) -> int:
        return self.num_pos + self.num_neg if self.avg_factor_with_neg else self.num_pos
