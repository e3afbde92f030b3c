"""The outcome of matching boxes to ground truth."""

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class AssignResult:
    """Per-box assignment.

    Attributes:
        num_gts: number of ground-truth boxes ``G``.
        gt_inds: ``(N,)`` int64: ``0`` negative, ``-1`` ignored, ``i + 1`` matched to gt ``i``.
        max_overlaps: ``(N,)`` float IoU with the best gt (0 when there is none).
        labels: ``(N,)`` int64 class of the matched gt, ``-1`` otherwise.
    """

    num_gts: int
    gt_inds: Tensor
    max_overlaps: Tensor
    labels: Tensor

    @property
    def num_preds(self) -> int:
        return int(self.gt_inds.numel())

    def with_gts_prepended(self, gt_labels: Tensor) -> "AssignResult":
        """The assignment after the ground truth was put in front of the boxes (each matches itself)."""
        self_inds = torch.arange(1, len(gt_labels) + 1, dtype=torch.long, device=gt_labels.device)
        return AssignResult(
            num_gts=self.num_gts,
            gt_inds=torch.cat([self_inds, self.gt_inds]),
            max_overlaps=torch.cat([self.max_overlaps.new_ones(len(gt_labels)), self.max_overlaps]),
            labels=torch.cat([gt_labels.long(), self.labels]),
        )
