"""Cascade R-CNN RoI head: N box stages trained at rising IoU thresholds, each refining
the boxes of the one before (Cai & Vasconcelos, CVPR 2018)."""
import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.structures import SampleList, bbox2roi
from mmcascade.utils.config_classes import check_heads_agree
from mmcascade.utils.options import check_block_keys, check_extra_options, check_nms_cfg

from ..layers import scale_grad
from ..task_modules import SamplingResult
from .cascade_predict import CascadePredictMixin
from .stage_settings import StageTrainSettings, build_stage_settings

TEST_ENSEMBLES = ("logits", "last_rois_probs")
RCNN_TEST_KEYS = ("score_thr", "nms", "max_per_img", "mask_thr_binary")


def _per_stage(cfg: dict | list, num_stages: int, what: str) -> list[dict]:
    cfgs = list(cfg) if isinstance(cfg, (list, tuple)) else [cfg] * num_stages
    if len(cfgs) != num_stages:
        raise ValueError(f"{what} has {len(cfgs)} entries for {num_stages} stages")
    return cfgs


@MODELS.register_module()
class CascadeRoIHead(CascadePredictMixin, BaseModule):
    """Cascade of box (and mask) heads.

    Args:
        num_stages: number of stages ``N``.
        stage_loss_weights: ``N`` loss multipliers.
        bbox_roi_extractor, bbox_head: one config, or a list of ``N`` (the coder stds differ).
        mask_roi_extractor, mask_head: likewise, for Cascade Mask R-CNN.
        train_cfg: the ``rcnn`` list of per-stage assigner / sampler / mask_size.
        test_cfg: ``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary``.
        test_ensemble: ``'logits'`` (default, OpenMMLab): the stages' logits, each on the RoIs
            that entered that stage, are averaged then soft-maxed. ``'last_rois_probs'``
            (the author's Detectron code): every stage's classifier runs on the last stage's
            RoIs and their probabilities are averaged.
        resample_later_stages: True (default) assigns and samples again at every stage;
            False (author) trains later stages on all refined boxes plus the ground truth.
        compensate_stage_grads: False (default) scales a stage's whole loss; True (author)
            keeps the heads' own gradients at full strength and scales only what flows
            into the shared features by the stage weight.
    """

    def __init__(self, num_stages: int, stage_loss_weights: list[float], bbox_roi_extractor: dict | list,
                 bbox_head: dict | list, mask_roi_extractor: dict | list | None = None,
                 mask_head: dict | list | None = None, train_cfg: dict | list | None = None,
                 test_cfg: dict | None = None, test_ensemble: str = "logits",
                 resample_later_stages: bool = True, compensate_stage_grads: bool = False,
                 init_cfg: dict | None = None, **kwargs) -> None:
        check_extra_options(type(self).__name__, kwargs, dict(shared_head=None))
        super().__init__(init_cfg)
        if len(stage_loss_weights) != num_stages:
            raise ValueError(f"{len(stage_loss_weights)} stage_loss_weights for {num_stages} stages")
        if test_ensemble not in TEST_ENSEMBLES:
            raise ValueError(f"test_ensemble must be one of {TEST_ENSEMBLES}, got {test_ensemble!r}")
        self.num_stages = num_stages
        self.stage_loss_weights = list(stage_loss_weights)
        self.test_ensemble = test_ensemble
        self.compensate_stage_grads = compensate_stage_grads
        self._build_modules(bbox_roi_extractor, bbox_head, mask_roi_extractor, mask_head)
        self.train_cfg = train_cfg
        self.test_cfg = ConfigDict(test_cfg) if test_cfg else None
        check_block_keys(f"{type(self).__name__} test_cfg (test_cfg.rcnn)", self.test_cfg, RCNN_TEST_KEYS)
        check_nms_cfg(f"{type(self).__name__} test_cfg (test_cfg.rcnn)", (self.test_cfg or {}).get("nms"))
        self.stages: list[StageTrainSettings] = []
        if train_cfg is not None:
            self.stages = build_stage_settings(train_cfg, self.stage_loss_weights, resample_later_stages)

    def _build_modules(self, bbox_roi_extractor, bbox_head, mask_roi_extractor, mask_head) -> None:
        n = self.num_stages
        self.bbox_roi_extractor = nn.ModuleList(
            MODELS.build(c) for c in _per_stage(bbox_roi_extractor, n, "bbox_roi_extractor"))
        self.bbox_head = nn.ModuleList(MODELS.build(c) for c in _per_stage(bbox_head, n, "bbox_head"))
        if mask_head is not None:
            self.mask_roi_extractor = nn.ModuleList(
                MODELS.build(c) for c in _per_stage(mask_roi_extractor, n, "mask_roi_extractor"))
            self.mask_head = nn.ModuleList(MODELS.build(c) for c in _per_stage(mask_head, n, "mask_head"))
        heads = [(f"roi_head.bbox_head[{i}].num_classes", h.num_classes) for i, h in enumerate(self.bbox_head)]
        if mask_head is not None:
            heads += [(f"roi_head.mask_head[{i}].num_classes", h.num_classes) for i, h in enumerate(self.mask_head)]
        check_heads_agree(heads)

    @property
    def with_mask(self) -> bool:
        return hasattr(self, "mask_head") and self.mask_head is not None

    def stage_modules(self, stage: int) -> tuple[nn.Module, nn.Module]:
        """``(bbox_roi_extractor, bbox_head)`` of a stage."""
        return self.bbox_roi_extractor[stage], self.bbox_head[stage]

    def stage_mask_modules(self, stage: int) -> tuple[nn.Module, nn.Module]:
        """``(mask_roi_extractor, mask_head)`` of a stage."""
        return self.mask_roi_extractor[stage], self.mask_head[stage]

    def loss_name(self, stage: int, name: str) -> str:
        return f"s{stage}.{name}"

    def bbox_forward(self, stage: int, feats: tuple[Tensor, ...], rois: Tensor,
                     grad_scale: float = 1.0) -> tuple[Tensor, Tensor]:
        extractor, head = self.stage_modules(stage)
        roi_feats = scale_grad(extractor(feats, rois), grad_scale)
        return head(roi_feats)

    def mask_forward(self, stage: int, feats: tuple[Tensor, ...], rois: Tensor,
                     grad_scale: float = 1.0) -> Tensor:
        extractor, head = self.stage_mask_modules(stage)
        return head(scale_grad(extractor(feats, rois), grad_scale))

    # ------------------------------------------------------------------ training
    def loss(self, feats: tuple[Tensor, ...], rpn_results: list[InstanceData],
             batch_data_samples: SampleList) -> dict[str, Tensor]:
        """Losses of every stage, named ``s{i}.loss_cls`` / ``loss_bbox`` / ``acc`` / ``loss_mask``."""
        if not self.stages:
            raise RuntimeError("CascadeRoIHead.loss needs train_cfg")
        gts = [s.gt_instances for s in batch_data_samples]
        metas = [s.metainfo for s in batch_data_samples]
        proposals = [r.bboxes for r in rpn_results]
        feats = self.stage_modules(0)[0].pooling_layout(feats)
        losses: dict[str, Tensor] = {}
        for stage, settings in enumerate(self.stages):
            samples = [self._sample(settings, p, gt) for p, gt in zip(proposals, gts)]
            compensate = self.compensate_stage_grads
            weight = 1.0 if compensate else settings.loss_weight
            grad_scale = settings.loss_weight if compensate else 1.0
            rois = bbox2roi([s.priors for s in samples])
            cls_score, bbox_pred = self.bbox_forward(stage, feats, rois, grad_scale)
            head = self.stage_modules(stage)[1]
            targets = head.get_targets(samples, settings.pos_weight)
            box = head.loss(cls_score, bbox_pred, targets)
            losses[self.loss_name(stage, "loss_cls")] = box.loss_cls * weight
            losses[self.loss_name(stage, "acc")] = box.acc
            losses[self.loss_name(stage, "loss_bbox")] = box.loss_bbox * weight
            if self.with_mask:
                mask_loss = self._mask_loss(stage, feats, samples, gts, settings, grad_scale)
                losses[self.loss_name(stage, "loss_mask")] = mask_loss * weight
            if stage < self.num_stages - 1:
                with torch.no_grad():
                    proposals = self._refine_for_training(stage, rois, cls_score, bbox_pred,
                                                          targets.labels, samples, metas)
        return losses

    @staticmethod
    def _sample(settings: StageTrainSettings, proposals: Tensor, gt: InstanceData) -> SamplingResult:
        assign = settings.assigner.assign(proposals, gt.bboxes, gt.labels)
        return settings.sampler.sample(assign, proposals, gt.bboxes, gt.labels)

    def _mask_loss(self, stage: int, feats: tuple[Tensor, ...], samples: list[SamplingResult],
                   gts: list[InstanceData], settings: StageTrainSettings, grad_scale: float) -> Tensor:
        pos_rois = bbox2roi([s.pos_priors for s in samples])
        mask_preds = self.mask_forward(stage, feats, pos_rois, grad_scale)
        head = self.stage_mask_modules(stage)[1]
        targets = head.get_targets(samples, [gt.masks for gt in gts], settings.mask_size)
        labels = torch.cat([s.pos_gt_labels for s in samples])
        return head.loss(mask_preds, targets.to(mask_preds.device), labels)

    def _refine_for_training(self, stage: int, rois: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                             labels: Tensor, samples: list[SamplingResult],
                             metas: list[dict]) -> list[Tensor]:
        """Next stage's proposals: this stage's regression of its sampled RoIs, clipped,
        without the RoIs that were ground-truth boxes. Background RoIs use the argmax class."""
        head = self.stage_modules(stage)[1]
        num_classes = head.num_classes
        if cls_score.numel() > 0:
            labels = torch.where(labels == num_classes, cls_score[:, :-1].argmax(1), labels)
        proposals = []
        for i, (res, meta) in enumerate(zip(samples, metas)):
            inds = torch.nonzero(rois[:, 0] == i, as_tuple=False).squeeze(1)
            boxes = head.regress_by_class(rois[inds, 1:], labels[inds], bbox_pred[inds], meta["img_shape"])
            keep = torch.ones(inds.numel(), dtype=torch.bool, device=boxes.device)
            keep[: res.num_pos] = res.pos_is_gt == 0
            proposals.append(boxes[keep].detach())
        return proposals
