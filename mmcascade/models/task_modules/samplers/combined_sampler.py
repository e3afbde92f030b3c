"""A sampler whose positives come from one sampler and negatives from another."""

from torch import Tensor

from mmcascade.registry import TASK_UTILS

from ..assigners import AssignResult
from .random_sampler import RandomSampler


@TASK_UTILS.register_module()
class CombinedSampler(RandomSampler):
    """Positives by ``pos_sampler``, negatives by ``neg_sampler`` (e.g. Libra R-CNN's
    ``InstanceBalancedPosSampler`` and ``IoUBalancedNegSampler``); both built with this sampler's
    ``num``, ``pos_fraction``, ``neg_pos_ub`` and ``add_gt_as_proposals``."""

    def __init__(self, pos_sampler: dict, neg_sampler: dict, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pos_sampler = TASK_UTILS.build(pos_sampler, default_args=kwargs)
        self.neg_sampler = TASK_UTILS.build(neg_sampler, default_args=kwargs)

    def _sample_pos(self, assign_result: AssignResult, num_expected: int, **kwargs) -> Tensor:
        return self.pos_sampler._sample_pos(assign_result, num_expected, **kwargs)

    def _sample_neg(self, assign_result: AssignResult, num_expected: int, **kwargs) -> Tensor:
        return self.neg_sampler._sample_neg(assign_result, num_expected, **kwargs)
