"""Negatives balanced over their IoU with the ground truth (Libra R-CNN): hard negatives (high
IoU) are rare, so uniform sampling hardly sees them; sampling each IoU bin alike does."""

import numpy as np
import torch
from torch import Tensor

from mmcascade.registry import TASK_UTILS

from ..assigners import AssignResult
from .random_sampler import RandomSampler


@TASK_UTILS.register_module()
class IoUBalancedNegSampler(RandomSampler):
    """Negatives split into a floor set (IoU below ``floor_thr``) and the rest; the rest are
    sampled equally from ``num_bins`` IoU bins between ``floor_thr`` and the highest IoU of any box (a bin
    short of candidates gives what it has), ``floor_fraction`` of the negatives from the floor
    set, and any shortfall filled at random from all negatives. Positives as :class:`RandomSampler`.

    Args:
        floor_thr: IoU below which negatives form the floor set. ``0``: negatives of IoU 0 form
            it; a negative value (Libra R-CNN's ``-1``) is read as ``0``, as MMDetection
            trains with it from its second batch on.
        floor_fraction: share of the negatives taken from the floor set.
        num_bins: IoU bins above ``floor_thr`` (1: uniform sampling of those negatives).
        num, pos_fraction, neg_pos_ub, add_gt_as_proposals: as :class:`RandomSampler`.
    """

    def __init__(self, num: int, pos_fraction: float, floor_thr: float = -1, floor_fraction: float = 0,
                 num_bins: int = 3, **kwargs) -> None:  # fmt: skip
        super().__init__(num, pos_fraction, **kwargs)
        if not 0 <= floor_fraction <= 1:
            raise ValueError(f"IoUBalancedNegSampler: floor_fraction must be in [0, 1], got {floor_fraction}")
        if num_bins < 1:
            raise ValueError(f"IoUBalancedNegSampler: num_bins must be at least 1, got {num_bins}")
        self.floor_thr, self.floor_fraction, self.num_bins = floor_thr, floor_fraction, num_bins

    def _choice(self, candidates: np.ndarray, num: int) -> np.ndarray:
        return self._pick(torch.from_numpy(candidates), num).numpy()

    def _sample_neg(self, assign_result: AssignResult, num_expected: int, **kwargs) -> Tensor:
        neg = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).squeeze(1)
        if neg.numel() <= num_expected or self.sample_all:
            return neg
        neg_np = neg.cpu().numpy()
        iou = assign_result.max_overlaps.cpu().numpy()[neg_np]
        floor_thr = max(self.floor_thr, 0.0)
        if floor_thr > 0:
            in_floor = iou < floor_thr
        else:
            in_floor = iou == 0
        floor, upper = neg_np[in_floor], neg_np[~in_floor]
        num_upper = int(num_expected * (1 - self.floor_fraction))
        if len(upper) > num_upper:
            top = float(assign_result.max_overlaps.max())  # over every box, positives included
            upper = self._by_bins(upper, iou[~in_floor], floor_thr, top, num_upper)
        picked = np.concatenate([self._choice(floor, num_expected - len(upper)), upper]).astype(np.int64)
        if len(picked) < num_expected:
            rest = np.setdiff1d(neg_np, picked)
            picked = np.concatenate([picked, self._choice(rest, num_expected - len(picked))])
        return torch.from_numpy(picked).to(assign_result.gt_inds.device)

    def _by_bins(self, inds: np.ndarray, iou: np.ndarray, floor_thr: float, top: float, num: int) -> np.ndarray:
        """``num`` of ``inds`` (with IoUs ``iou``): an equal share from each of the IoU bins
        between ``floor_thr`` and ``top`` (the highest IoU of any box, as MMDetection bins), the
        shortfall at random from the rest."""
        width = (top - floor_thr) / self.num_bins
        share = int(num / self.num_bins)
        picked = []
        for b in range(self.num_bins):
            lo, hi = floor_thr + b * width, floor_thr + (b + 1) * width
            picked.append(self._choice(inds[(iou >= lo) & (iou < hi)], share))
        picked = np.concatenate(picked)
        if len(picked) < num:
            picked = np.concatenate([picked, self._choice(np.setdiff1d(inds, picked), num - len(picked))])
        return picked
