"""Cascade R-CNN RoI head: N box stages trained at rising IoU thresholds, each refining the boxes
of the one before (Cai & Vasconcelos, CVPR 2018). Its modules are lists indexed by stage
(checkpoint keys ``roi_head.bbox_head.{i}.*``); the stage loop is :class:`BaseRoIHead`'s."""

from typing import cast

import torch.nn as nn

from mmcascade.config.classes import check_heads_agree
from mmcascade.registry import MODELS
from mmcascade.utils.typing_utils import ConfigType, MultiConfig, OptConfigType, OptMultiConfig

from ..task_modules import MaxIoUAssigner, RandomSampler
from .base_roi_head import RCNN_TEST_KEYS, TEST_ENSEMBLES, BaseRoIHead
from .bbox_heads import Shared2FCBBoxHead
from .mask_heads import FCNMaskHead
from .roi_extractors import SingleRoIExtractor

__all__ = ["CascadeRoIHead", "RCNN_TEST_KEYS", "TEST_ENSEMBLES"]


def _per_stage(cfg: OptMultiConfig, num_stages: int, what: str) -> list[ConfigType]:
    if cfg is None:
        raise ValueError(f"{what} is needed (one config, or one per stage)")
    cfgs = list(cfg) if isinstance(cfg, (list, tuple)) else [cfg] * num_stages
    if len(cfgs) != num_stages:
        raise ValueError(f"{what} has {len(cfgs)} entries for {num_stages} stages")
    return cfgs


@MODELS.register_module()
class CascadeRoIHead(BaseRoIHead):
    """Cascade of box (and mask) heads.

    Args:
        num_stages: number of stages ``N``.
        stage_loss_weights: ``N`` loss multipliers.
        bbox_roi_extractor, bbox_head: one config, or a list of ``N`` (the coder stds differ).
        mask_roi_extractor, mask_head: likewise, for Cascade Mask R-CNN (without mask extractors
            each stage's mask pools with its box extractor).
        shared_head: one module between pooling and every stage's heads (C4's :class:`ResLayer`).
        train_cfg, test_cfg, test_ensemble, resample_later_stages, compensate_stage_grads: see
            :class:`BaseRoIHead`.
    """

    def __init__(
        self,
        num_stages: int,
        stage_loss_weights: list[float],
        bbox_roi_extractor: MultiConfig,
        bbox_head: MultiConfig,
        mask_roi_extractor: OptMultiConfig = None,
        mask_head: OptMultiConfig = None,
        shared_head: OptConfigType = None,
        train_cfg: OptMultiConfig = None,
        test_cfg: OptConfigType = None,
        test_ensemble: str = "logits",
        resample_later_stages: bool = True,
        compensate_stage_grads: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        self.with_mask = mask_head is not None
        super().__init__(
            num_stages,
            stage_loss_weights,
            train_cfg,
            test_cfg,
            test_ensemble,
            resample_later_stages,
            compensate_stage_grads,
            init_cfg,
        )
        n = num_stages
        if shared_head is not None:
            self.shared_head = MODELS.build(shared_head)
        self.bbox_roi_extractor = nn.ModuleList(
            MODELS.build(c) for c in _per_stage(bbox_roi_extractor, n, "bbox_roi_extractor")
        )
        self.bbox_head = nn.ModuleList(MODELS.build(c) for c in _per_stage(bbox_head, n, "bbox_head"))
        if self.with_mask:
            if mask_roi_extractor is not None:  # else each stage's mask pools with its box extractor
                self.mask_roi_extractor = nn.ModuleList(
                    MODELS.build(c) for c in _per_stage(mask_roi_extractor, n, "mask_roi_extractor")
                )
            self.mask_head = nn.ModuleList(MODELS.build(c) for c in _per_stage(mask_head, n, "mask_head"))
        heads = [(f"roi_head.bbox_head[{i}].num_classes", self.stage_bbox_head(i).num_classes) for i in range(n)]
        if self.with_mask:
            heads += [(f"roi_head.mask_head[{i}].num_classes", self.stage_mask_head(i).num_classes) for i in range(n)]
        check_heads_agree(heads)

    @property
    def bbox_assigner(self) -> list[MaxIoUAssigner]:
        """Each stage's assigner (MMDetection's attribute; empty without ``train_cfg``)."""
        return [s.assigner for s in self.stages]

    @property
    def bbox_sampler(self) -> list[RandomSampler]:
        """Each stage's sampler (MMDetection's attribute; empty without ``train_cfg``)."""
        return [s.sampler for s in self.stages]

    def stage_bbox_roi_extractor(self, stage: int) -> SingleRoIExtractor:
        return cast(SingleRoIExtractor, self.bbox_roi_extractor[stage])

    def stage_bbox_head(self, stage: int) -> Shared2FCBBoxHead:
        return cast(Shared2FCBBoxHead, self.bbox_head[stage])

    def stage_mask_roi_extractor(self, stage: int) -> SingleRoIExtractor:
        extractors = self.bbox_roi_extractor if self.share_roi_extractor else self.mask_roi_extractor
        return cast(SingleRoIExtractor, extractors[stage])

    def stage_mask_head(self, stage: int) -> FCNMaskHead:
        return cast(FCNMaskHead, self.mask_head[stage])

    def loss_name(self, stage: int, name: str) -> str:
        return f"s{stage}.{name}"
