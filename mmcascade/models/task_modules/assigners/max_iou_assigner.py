"""Assign each box to the ground truth it overlaps most, by IoU thresholds."""

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.registry import TASK_UTILS

from .assign_result import AssignResult


@TASK_UTILS.register_module()
class MaxIoUAssigner:
    """Max-IoU matching with positive / negative thresholds.

    A box is negative when its best IoU lies in ``[0, neg_iou_thr)`` (or in the
    ``(lo, hi)`` range when a pair is given), positive when it is ``>= pos_iou_thr``,
    ignored otherwise. With ``match_low_quality`` every gt whose best IoU is at least
    ``min_pos_iou`` also claims its best box(es), so no gt goes unmatched (RPN).

    Args:
        pos_iou_thr: IoU at or above which a box is positive.
        neg_iou_thr: IoU below which a box is negative, or a ``(lo, hi)`` pair.
        min_pos_iou: the least IoU for a low-quality match.
        gt_max_assign_all: give a gt all boxes that tie its best IoU.
        ignore_iof_thr: boxes whose IoF with an ignored region exceeds this are ignored
            (disabled when negative).
        ignore_wrt_candidates: compute IoF w.r.t. the boxes (True) or the regions.
        match_low_quality: enable low-quality matches.
        iou_calculator: the overlap calculator (default ``dict(type='BboxOverlaps2D')``; its
            ``scale`` / ``dtype='fp16'`` as in MMDetection).
    """

    def __init__(
        self,
        pos_iou_thr: float,
        neg_iou_thr: float | tuple[float, float],
        min_pos_iou: float = 0.0,
        gt_max_assign_all: bool = True,
        ignore_iof_thr: float = -1,
        ignore_wrt_candidates: bool = True,
        match_low_quality: bool = True,
        iou_calculator: dict | None = None,
    ) -> None:
        self.iou_calculator = TASK_UTILS.build(iou_calculator or dict(type="BboxOverlaps2D"))
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.ignore_iof_thr = ignore_iof_thr
        self.ignore_wrt_candidates = ignore_wrt_candidates
        self.match_low_quality = match_low_quality

    def assign(
        self,
        pred_instances: InstanceData | Tensor,
        gt_instances: InstanceData | Tensor,
        gt_instances_ignore: InstanceData | Tensor | None = None,
        gt_bboxes_ignore: Tensor | None = None,
    ) -> AssignResult:
        """MMDetection's call: match ``pred_instances.priors`` (or ``.bboxes``) ``(N, 4)`` to
        ``gt_instances.bboxes (G, 4)`` with classes ``gt_instances.labels``; boxes over
        ``gt_instances_ignore.bboxes`` are ignored (``ignore_iof_thr``).

        ``assign(priors, gt_bboxes, gt_labels, gt_bboxes_ignore)`` with tensors is the same.
        """
        if isinstance(pred_instances, Tensor):
            assert isinstance(gt_instances, Tensor) and not isinstance(gt_instances_ignore, InstanceData)
            return self.assign_boxes(pred_instances, gt_instances, gt_instances_ignore, gt_bboxes_ignore)
        priors = pred_instances.priors if "priors" in pred_instances else pred_instances.bboxes
        ignore = None
        if gt_instances_ignore is not None and "bboxes" in gt_instances_ignore:
            ignore = gt_instances_ignore.bboxes
        return self.assign_boxes(priors, gt_instances.bboxes, gt_instances.labels, ignore)

    def assign_boxes(
        self,
        priors: Tensor,
        gt_bboxes: Tensor,
        gt_labels: Tensor,
        gt_bboxes_ignore: Tensor | None = None,
    ) -> AssignResult:
        """Match ``priors (N, 4)`` to ``gt_bboxes (G, 4)`` with classes ``gt_labels (G,)``; priors
        whose IoF with ``gt_bboxes_ignore`` exceeds ``ignore_iof_thr`` are ignored."""
        overlaps = self.iou_calculator(gt_bboxes, priors)
        if (
            self.ignore_iof_thr > 0
            and gt_bboxes_ignore is not None
            and gt_bboxes_ignore.numel() > 0
            and priors.numel() > 0
        ):
            if self.ignore_wrt_candidates:
                iof = self.iou_calculator(priors, gt_bboxes_ignore, mode="iof").max(dim=1).values
            else:
                iof = self.iou_calculator(gt_bboxes_ignore, priors, mode="iof").max(dim=0).values
            overlaps[:, iof > self.ignore_iof_thr] = -1
        return self.assign_wrt_overlaps(overlaps, gt_labels)

    def assign_wrt_overlaps(self, overlaps: Tensor, gt_labels: Tensor) -> AssignResult:
        """Assign from a ``(G, N)`` overlap table."""
        num_gts, num_boxes = overlaps.shape
        gt_inds = overlaps.new_full((num_boxes,), -1, dtype=torch.long)
        if num_gts == 0 or num_boxes == 0:
            if num_gts == 0:
                gt_inds[:] = 0
            return AssignResult(num_gts, gt_inds, overlaps.new_zeros((num_boxes,)), gt_inds.new_full((num_boxes,), -1))
        max_overlaps, argmax = overlaps.max(dim=0)
        gt_max_overlaps, gt_argmax = overlaps.max(dim=1)
        if isinstance(self.neg_iou_thr, (tuple, list)):
            lo, hi = self.neg_iou_thr
            gt_inds[(max_overlaps >= lo) & (max_overlaps < hi)] = 0
        else:
            gt_inds[(max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)] = 0
        pos = max_overlaps >= self.pos_iou_thr
        gt_inds[pos] = argmax[pos] + 1
        if self.match_low_quality:
            for i in range(num_gts):
                if gt_max_overlaps[i] < self.min_pos_iou:
                    continue
                if self.gt_max_assign_all:
                    gt_inds[overlaps[i] == gt_max_overlaps[i]] = i + 1
                else:
                    gt_inds[gt_argmax[i]] = i + 1
        labels = gt_inds.new_full((num_boxes,), -1)
        matched = gt_inds > 0
        labels[matched] = gt_labels.long()[gt_inds[matched] - 1]
        return AssignResult(num_gts, gt_inds, max_overlaps, labels)
