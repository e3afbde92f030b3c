"""Online hard example mining (Shrivastava et al., CVPR 2016): of the positives and of the
negatives, train on those the box head currently classifies worst."""

import torch
from torch import Tensor

from mmcascade.registry import TASK_UTILS
from mmcascade.structures import bbox2roi

from ..assigners import AssignResult
from .random_sampler import RandomSampler


@TASK_UTILS.register_module()
class OHEMSampler(RandomSampler):
    """When there are more candidates than wanted, keep the ones of highest classification loss
    (the stage's own head on the image's features, no gradient); otherwise keep all.

    Args:
        context: the RoI head (given by it): its ``bbox_forward`` and box head score the
            candidates of the cascade stage being sampled.
        loss_key: the loss ranked by; only ``'loss_cls'``.
        num, pos_fraction, neg_pos_ub, add_gt_as_proposals: as :class:`RandomSampler`.
    """

    def __init__(self, num: int, pos_fraction: float, context: object = None, loss_key: str = "loss_cls",
                 **kwargs) -> None:  # fmt: skip
        super().__init__(num, pos_fraction, context=context, **kwargs)
        if loss_key != "loss_cls":
            raise ValueError(f"OHEMSampler: loss_key must be 'loss_cls' (the classification loss), got {loss_key!r}")
        self.loss_key = loss_key

    def _hardest(self, inds: Tensor, num: int, labels: Tensor, priors: Tensor, feats: tuple, stage: int) -> Tensor:
        if self.context is None or feats is None:
            raise RuntimeError("OHEMSampler needs the RoI head (context) and the image's feats to score candidates")
        head = self.context.stage_bbox_head(stage)
        with torch.no_grad():
            cls_score, _ = self.context.bbox_forward(stage, feats, bbox2roi([priors[inds]]).to(feats[0].device))
            loss = head.loss_cls(cls_score, labels, cls_score.new_ones(len(labels)), reduction_override="none")
        return inds[loss.topk(num).indices]

    def _sample_pos(self, assign_result: AssignResult, num_expected: int, priors: Tensor | None = None,
                    feats: tuple | None = None, stage: int = 0, **kwargs) -> Tensor:  # fmt: skip
        inds = torch.nonzero(assign_result.gt_inds > 0, as_tuple=False).squeeze(1)
        if inds.numel() <= num_expected or self.sample_all:
            return inds
        return self._hardest(inds, num_expected, assign_result.labels[inds], priors, feats, stage)

    def _sample_neg(self, assign_result: AssignResult, num_expected: int, priors: Tensor | None = None,
                    feats: tuple | None = None, stage: int = 0, **kwargs) -> Tensor:  # fmt: skip
        inds = torch.nonzero(assign_result.gt_inds == 0, as_tuple=False).squeeze(1)
        if inds.numel() <= num_expected or self.sample_all:
            return inds
        background = self.context.stage_bbox_head(stage).num_classes
        labels = torch.full_like(inds, background)
        return self._hardest(inds, num_expected, labels, priors, feats, stage)
