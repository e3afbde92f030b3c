"""Single-stage RoI head of Faster / Mask R-CNN: the cascade machinery with one stage and
unindexed module names (``roi_head.bbox_head.fc_cls``)."""
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.model import BaseModule

from mmcascade.registry import MODELS
from mmcascade.utils.options import check_block_keys, check_extra_options, check_nms_cfg

from .cascade_roi_head import RCNN_TEST_KEYS, CascadeRoIHead
from .stage_settings import build_stage_settings


@MODELS.register_module()
class StandardRoIHead(CascadeRoIHead):
    """Faster / Mask R-CNN RoI head (one box stage, optional mask branch).

    Args:
        bbox_roi_extractor, bbox_head: single configs.
        mask_roi_extractor, mask_head: single configs for Mask R-CNN.
        train_cfg: one ``rcnn`` dict (assigner, sampler, mask_size, pos_weight).
        test_cfg: ``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary``.
    """

    def __init__(self, bbox_roi_extractor: dict, bbox_head: dict, mask_roi_extractor: dict | None = None,
                 mask_head: dict | None = None, train_cfg: dict | None = None,
                 test_cfg: dict | None = None, init_cfg: dict | None = None, **kwargs) -> None:
        check_extra_options(type(self).__name__, kwargs, dict(shared_head=None))
        BaseModule.__init__(self, init_cfg)
        self.num_stages = 1
        self.stage_loss_weights = [1.0]
        self.test_ensemble = "logits"
        self.compensate_stage_grads = False
        self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        self.bbox_head = MODELS.build(bbox_head)
        if mask_head is not None:
            self.mask_roi_extractor = MODELS.build(mask_roi_extractor)
            self.mask_head = MODELS.build(mask_head)
        self.train_cfg = train_cfg
        self.test_cfg = ConfigDict(test_cfg) if test_cfg else None
        check_block_keys(f"{type(self).__name__} test_cfg (test_cfg.rcnn)", self.test_cfg, RCNN_TEST_KEYS)
        check_nms_cfg(f"{type(self).__name__} test_cfg (test_cfg.rcnn)", (self.test_cfg or {}).get("nms"))
        self.stages = build_stage_settings(train_cfg, [1.0]) if train_cfg is not None else []

    def stage_modules(self, stage: int) -> tuple[nn.Module, nn.Module]:
        if stage != 0:
            raise IndexError(f"StandardRoIHead has one stage, asked for stage {stage}")
        return self.bbox_roi_extractor, self.bbox_head

    def stage_mask_modules(self, stage: int) -> tuple[nn.Module, nn.Module]:
        if stage != 0:
            raise IndexError(f"StandardRoIHead has one stage, asked for stage {stage}")
        return self.mask_roi_extractor, self.mask_head

    def loss_name(self, stage: int, name: str) -> str:
        return name
