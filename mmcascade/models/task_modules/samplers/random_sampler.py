"""Sample a fixed number of boxes with a target fraction of positives."""

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.registry import TASK_UTILS
from mmcascade.utils.options import check_extra_options

from ..assigners import AssignResult
from .sampling_result import SamplingResult


@TASK_UTILS.register_module()
class RandomSampler:
    """Uniformly sample up to ``num * pos_fraction`` positives and fill with negatives.

    Args:
        num: boxes per image.
        pos_fraction: target share of positives.
        neg_pos_ub: at most ``neg_pos_ub`` negatives per positive (off when negative).
        add_gt_as_proposals: put the ground truth in front of the candidates.
        sample_all: keep every positive and negative (no random draw); the author's
            later-stage training, where all refined boxes are used.
        context: the RoI head, which the heads give every sampler they build (MMDetection's
            ``default_args``): :class:`OHEMSampler` scores candidates with it, this one does
            not need it.
    """

    def __init__(
        self,
        num: int,
        pos_fraction: float,
        neg_pos_ub: int = -1,
        add_gt_as_proposals: bool = True,
        sample_all: bool = False,
        context: object = None,
        **kwargs,
    ) -> None:
        check_extra_options(type(self).__name__, kwargs)
        self.context = context
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = add_gt_as_proposals
        self.sample_all = sample_all

    @staticmethod
    def random_choice(gallery: Tensor, num: int) -> Tensor:
        """``num`` distinct elements of ``gallery`` at random."""
        perm = torch.randperm(gallery.numel(), device=gallery.device)[:num]
        return gallery[perm]

    def _pick(self, candidates: Tensor, num: int) -> Tensor:
        if self.sample_all or candidates.numel() <= num:
            return candidates
        return self.random_choice(candidates, num)

    def _sample_pos(self, assign_result: AssignResult, num_expected: int, **kwargs) -> Tensor:
        """Up to ``num_expected`` indices of positives (assigned to a ground-truth box), uniformly."""
        return self._pick(torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).squeeze(1), num_expected)

    def _sample_neg(self, assign_result: AssignResult, num_expected: int, **kwargs) -> Tensor:
        """Up to ``num_expected`` indices of negatives (assigned to background), uniformly."""
        return self._pick(torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).squeeze(1), num_expected)

    def sample(
        self,
        assign_result: AssignResult,
        pred_instances: InstanceData | Tensor,
        gt_instances: InstanceData | Tensor,
        gt_labels: Tensor | None = None,
        **kwargs,
    ) -> SamplingResult:
        """MMDetection's call: sample from ``pred_instances.priors`` (or ``.bboxes``) ``(N, 4)``
        given their assignment to ``gt_instances`` (``bboxes``, ``labels``).
        ``sample(assign_result, priors, gt_bboxes, gt_labels)`` with tensors is the same. Other
        keywords (``feats`` of the image, the cascade ``stage``) go to the samplers that use them."""
        if isinstance(pred_instances, InstanceData):
            priors = pred_instances.priors if "priors" in pred_instances else pred_instances.bboxes
            return self.sample_boxes(assign_result, priors, gt_instances.bboxes, gt_instances.labels, **kwargs)
        return self.sample_boxes(assign_result, pred_instances, gt_instances, gt_labels, **kwargs)

    def sample_boxes(
        self, assign_result: AssignResult, priors: Tensor, gt_bboxes: Tensor, gt_labels: Tensor, **kwargs
    ) -> SamplingResult:
        """Sample from ``priors (N, 4)`` given their assignment to ``gt_bboxes (G, 4)``."""
        priors = priors[:, :4]
        gt_flags = priors.new_zeros((priors.shape[0],), dtype=torch.uint8)
        if self.add_gt_as_proposals and len(gt_bboxes) > 0:
            priors = torch.cat([gt_bboxes, priors], dim=0)
            assign_result = assign_result.with_gts_prepended(gt_labels)
            gt_flags = torch.cat([gt_flags.new_ones(gt_bboxes.shape[0]), gt_flags])
        pos_inds = self._sample_pos(assign_result, int(self.num * self.pos_fraction), priors=priors, **kwargs).unique()
        num_neg = self.num - pos_inds.numel()
        if self.neg_pos_ub >= 0:
            num_neg = min(num_neg, int(self.neg_pos_ub * max(1, pos_inds.numel())))
        neg_inds = self._sample_neg(assign_result, num_neg, priors=priors, **kwargs).unique()
        assigned = assign_result.gt_inds[pos_inds] - 1
        return SamplingResult(
            pos_inds=pos_inds,
            neg_inds=neg_inds,
            candidates=priors,
            gt_bboxes=gt_bboxes,
            pos_assigned_gt_inds=assigned,
            pos_gt_labels=assign_result.labels[pos_inds],
            pos_is_gt=gt_flags[pos_inds],
            num_gts=assign_result.num_gts,
            max_overlaps=assign_result.max_overlaps,
        )
