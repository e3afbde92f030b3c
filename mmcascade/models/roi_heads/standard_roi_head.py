"""Single-stage RoI head of Faster / Mask R-CNN: :class:`BaseRoIHead` with one stage and
unindexed modules (checkpoint keys ``roi_head.bbox_head.fc_cls.*``, loss keys ``loss_cls``)."""

from typing import Any

from mmcascade.config.classes import check_heads_agree
from mmcascade.registry import MODELS
from mmcascade.utils.options import check_extra_options
from mmcascade.utils.typing_utils import ConfigType, OptConfigType, OptMultiConfig

from .base_roi_head import BaseRoIHead
from .bbox_heads import Shared2FCBBoxHead
from .mask_heads import FCNMaskHead
from .roi_extractors import SingleRoIExtractor


def _only_stage(stage: int) -> None:
    if stage != 0:
        raise IndexError(f"StandardRoIHead has one stage, asked for stage {stage}")


@MODELS.register_module()
class StandardRoIHead(BaseRoIHead):
    """Faster / Mask R-CNN RoI head (one box stage, optional mask branch).

    Args:
        bbox_roi_extractor, bbox_head: single configs.
        mask_roi_extractor, mask_head: single configs for Mask R-CNN.
        train_cfg: one ``rcnn`` dict (assigner, sampler, mask_size, pos_weight).
        test_cfg: ``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary``.
    """

    def __init__(
        self,
        bbox_roi_extractor: ConfigType,
        bbox_head: ConfigType,
        mask_roi_extractor: OptConfigType = None,
        mask_head: OptConfigType = None,
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = None,
        **kwargs: Any,
    ) -> None:
        check_extra_options(type(self).__name__, kwargs, dict(shared_head=None))
        super().__init__(1, [1.0], train_cfg, test_cfg, init_cfg=init_cfg)
        self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        self.bbox_head = MODELS.build(bbox_head)
        self.with_mask = mask_head is not None
        heads = [("roi_head.bbox_head.num_classes", self.bbox_head.num_classes)]
        if self.with_mask:
            self.mask_roi_extractor = MODELS.build(mask_roi_extractor)
            self.mask_head = MODELS.build(mask_head)
            heads.append(("roi_head.mask_head.num_classes", self.mask_head.num_classes))
        check_heads_agree(heads)

    def stage_bbox_roi_extractor(self, stage: int) -> SingleRoIExtractor:
        _only_stage(stage)
        return self.bbox_roi_extractor

    def stage_bbox_head(self, stage: int) -> Shared2FCBBoxHead:
        _only_stage(stage)
        return self.bbox_head

    def stage_mask_roi_extractor(self, stage: int) -> SingleRoIExtractor:
        _only_stage(stage)
        return self.mask_roi_extractor

    def stage_mask_head(self, stage: int) -> FCNMaskHead:
        _only_stage(stage)
        return self.mask_head

    def loss_name(self, stage: int, name: str) -> str:
        return name
