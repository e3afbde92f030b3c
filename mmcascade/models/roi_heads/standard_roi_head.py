"""Single-stage RoI head of Faster / Mask R-CNN: :class:`BaseRoIHead` with one stage and
unindexed modules (checkpoint keys ``roi_head.bbox_head.fc_cls.*``, loss keys ``loss_cls``)."""

from mmcascade.config.classes import check_heads_agree
from mmcascade.registry import MODELS
from mmcascade.utils.typing_utils import ConfigType, OptConfigType, OptMultiConfig

from ..task_modules import MaxIoUAssigner, RandomSampler
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
        mask_roi_extractor, mask_head: single configs for Mask R-CNN; without a mask extractor
            the mask head pools with the box extractor (MMDetection's ``share_roi_extractor``).
        shared_head: a module between pooling and the box and mask heads (C4's
            :class:`ResLayer`, the backbone's last stage).
        train_cfg: one ``rcnn`` dict (assigner, sampler, mask_size, pos_weight).
        test_cfg: ``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary``.
    """

    def __init__(
        self,
        bbox_roi_extractor: ConfigType,
        bbox_head: ConfigType,
        mask_roi_extractor: OptConfigType = None,
        mask_head: OptConfigType = None,
        shared_head: OptConfigType = None,
        train_cfg: OptConfigType = None,
        test_cfg: OptConfigType = None,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        self.with_mask = mask_head is not None
        super().__init__(1, [1.0], train_cfg, test_cfg, init_cfg=init_cfg)
        if shared_head is not None:
            self.shared_head = MODELS.build(shared_head)
        self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        self.bbox_head = MODELS.build(bbox_head)
        heads = [("roi_head.bbox_head.num_classes", self.bbox_head.num_classes)]
        if self.with_mask:
            if mask_roi_extractor is not None:  # else the mask pools with the box extractor (C4)
                self.mask_roi_extractor = MODELS.build(mask_roi_extractor)
            self.mask_head = MODELS.build(mask_head)
            heads.append(("roi_head.mask_head.num_classes", self.mask_head.num_classes))
        check_heads_agree(heads)

    @property
    def bbox_assigner(self) -> MaxIoUAssigner:
        """The stage's assigner (MMDetection's attribute; a head built with ``train_cfg``)."""
        if not self.stages:
            raise AttributeError("bbox_assigner: the RoI head was built without train_cfg")
        return self.stages[0].assigner

    @property
    def bbox_sampler(self) -> RandomSampler:
        """The stage's sampler (MMDetection's attribute; a head built with ``train_cfg``)."""
        if not self.stages:
            raise AttributeError("bbox_sampler: the RoI head was built without train_cfg")
        return self.stages[0].sampler

    def stage_bbox_roi_extractor(self, stage: int) -> SingleRoIExtractor:
        _only_stage(stage)
        return self.bbox_roi_extractor

    def stage_bbox_head(self, stage: int) -> Shared2FCBBoxHead:
        _only_stage(stage)
        return self.bbox_head

    def stage_mask_roi_extractor(self, stage: int) -> SingleRoIExtractor:
        _only_stage(stage)
        return self.bbox_roi_extractor if self.share_roi_extractor else self.mask_roi_extractor

    def stage_mask_head(self, stage: int) -> FCNMaskHead:
        _only_stage(stage)
        return self.mask_head

    def loss_name(self, stage: int, name: str) -> str:
        return name
