"""Positives balanced over the ground-truth boxes (Libra R-CNN)."""

import torch
from torch import Tensor

from mmcascade.registry import TASK_UTILS

from ..assigners import AssignResult
from .random_sampler import RandomSampler


@TASK_UTILS.register_module()
class InstanceBalancedPosSampler(RandomSampler):
    """When there are more positives than wanted, take about as many of each ground-truth box's
    (``round(num_expected / boxes) + 1`` at most, at random), then fill up at random from the
    rest, or draw down at random to ``num_expected``. Negatives as :class:`RandomSampler`."""

    def _sample_pos(self, assign_result: AssignResult, num_expected: int, **kwargs) -> Tensor:
        pos = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).squeeze(1)
        if pos.numel() <= num_expected or self.sample_all:
            return pos
        gt_of_pos = assign_result.gt_inds[pos]
        owners = gt_of_pos.unique()
        per_gt = int(round(num_expected / float(len(owners))) + 1)
        picked = torch.cat([self._pick(pos[gt_of_pos == g], per_gt) for g in owners])
        if len(picked) < num_expected:
            rest = pos[~torch.isin(pos, picked)]
            picked = torch.cat([picked, self._pick(rest, num_expected - len(picked))])
        elif len(picked) > num_expected:
            picked = self.random_choice(picked, num_expected)
        return picked
