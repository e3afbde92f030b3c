"""Dynamic R-CNN's RoI head (Zhang et al., ECCV 2020): during training the assigner's IoU
threshold rises with the proposals' quality and the SmoothL1 ``beta`` shrinks with the
regression targets."""

from typing import Any

import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.structures import SampleList
from mmcascade.utils.options import check_block_keys
from mmcascade.utils.typing_utils import OptConfigType

from ..losses import SmoothL1Loss
from .detections import MetaInfo
from .stage_record import StageRecord
from .standard_roi_head import StandardRoIHead

DYNAMIC_KEYS = ("iou_topk", "beta_topk", "update_iter_interval", "initial_iou", "initial_beta")


@MODELS.register_module()
class DynamicRoIHead(StandardRoIHead):
    """:class:`StandardRoIHead` with Dynamic Label Assignment and Dynamic SmoothL1 Loss.

    ``train_cfg.rcnn.dynamic_rcnn`` holds ``iou_topk`` (each image's ``iou_topk``-th largest
    proposal IoU, ground truth included, is recorded), ``beta_topk`` (the ``beta_topk * images``-th
    smallest mean ``|dx|, |dy|`` target of the positives is recorded), ``update_iter_interval``
    (every that many iterations the assigner's ``pos_iou_thr``, ``neg_iou_thr`` and ``min_pos_iou``
    become ``max(initial_iou, mean IoU)`` and the loss's ``beta`` becomes ``min(initial_beta,
    median target)``; a zero or missing median keeps ``beta``), ``initial_iou`` and ``initial_beta``.
    Until the first update the config's assigner thresholds and ``beta`` apply.
    """

    def __init__(self, train_cfg: OptConfigType = None, **kwargs: Any) -> None:
        self.dynamic_cfg: dict[str, Any] = {}
        if train_cfg is not None:
            train_cfg = dict(train_cfg)
            if "dynamic_rcnn" not in train_cfg:
                raise ValueError("DynamicRoIHead needs train_cfg.rcnn.dynamic_rcnn")
            self.dynamic_cfg = dict(train_cfg.pop("dynamic_rcnn"))
            check_block_keys("train_cfg.rcnn.dynamic_rcnn", self.dynamic_cfg, DYNAMIC_KEYS)
            missing = [k for k in DYNAMIC_KEYS if k not in self.dynamic_cfg]
            if missing:
                raise ValueError(f"train_cfg.rcnn.dynamic_rcnn lacks {missing}")
        super().__init__(train_cfg=train_cfg, **kwargs)
        if not isinstance(self.bbox_head.loss_bbox, SmoothL1Loss):
            raise ValueError("DynamicRoIHead adapts SmoothL1Loss's beta; the box head's loss_bbox must be SmoothL1Loss")
        self.iou_history: list[float] = []
        self.beta_history: list[float] = []

    def run_stages(
        self,
        feats: tuple[Tensor, ...],
        proposals: list[Tensor],
        metas: list[MetaInfo],
        gt_instances: list[InstanceData] | None = None,
        gt_instances_ignore: list[InstanceData | None] | None = None,
    ) -> list[StageRecord]:
        records = super().run_stages(feats, proposals, metas, gt_instances, gt_instances_ignore)
        if gt_instances is not None:
            self._record_statistics(records[0])
        return records

    def _record_statistics(self, record: StageRecord) -> None:
        """Append this iteration's IoU (mean over images) and regression-target statistics."""
        assert record.samples is not None and record.targets is not None
        ious = []
        for res in record.samples:
            overlaps = res.max_overlaps
            assert overlaps is not None  # the samplers record them
            k = min(int(self.dynamic_cfg["iou_topk"]), len(overlaps))
            ious.append(torch.topk(overlaps, k)[0][-1].item() if k > 0 else 0.0)
        self.iou_history.append(float(np.mean(ious)))
        pos = record.targets.bbox_weights[:, 0].nonzero().squeeze(1)
        if len(pos) > 0:
            target = record.targets.bbox_targets[pos, :2].abs().mean(dim=1)
            k = min(int(self.dynamic_cfg["beta_topk"]) * len(record.samples), len(pos))
            self.beta_history.append(torch.kthvalue(target, k)[0].item())

    def loss(
        self, feats: tuple[Tensor, ...], rpn_results: list[InstanceData], batch_data_samples: SampleList
    ) -> dict[str, Tensor]:
        """The standard losses with this iteration's threshold and ``beta``; then, every
        ``update_iter_interval`` iterations, :meth:`update_hyperparameters`."""
        losses = super().loss(feats, rpn_results, batch_data_samples)
        if len(self.iou_history) % int(self.dynamic_cfg["update_iter_interval"]) == 0:
            self.update_hyperparameters()
        return losses

    def update_hyperparameters(self) -> tuple[float, float]:
        """Set the assigner's thresholds and the loss's ``beta`` from the recorded statistics
        (then cleared); returns ``(iou_thr, beta)``."""
        cfg = self.dynamic_cfg
        new_iou = max(float(cfg["initial_iou"]), float(np.mean(self.iou_history)))
        self.iou_history = []
        assigner = self.bbox_assigner
        assigner.pos_iou_thr = assigner.neg_iou_thr = assigner.min_pos_iou = new_iou
        loss_bbox = self.bbox_head.loss_bbox
        if not self.beta_history or np.median(self.beta_history) == 0:
            new_beta = loss_bbox.beta
        else:
            new_beta = min(float(cfg["initial_beta"]), float(np.median(self.beta_history)))
        self.beta_history = []
        loss_bbox.beta = new_beta
        return new_iou, new_beta
