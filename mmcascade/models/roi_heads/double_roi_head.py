"""Double-Head RoI head: the box head's regression branch pools a larger context around each
RoI than its classification branch (Wu et al., CVPR 2020)."""

from typing import Any

from torch import Tensor

from mmcascade.registry import MODELS

from .standard_roi_head import StandardRoIHead


@MODELS.register_module()
class DoubleHeadRoIHead(StandardRoIHead):
    """:class:`StandardRoIHead` whose box head (:class:`DoubleConvFCBBoxHead`) gets two inputs:
    the RoIs' features, and those of the RoIs scaled by ``reg_roi_scale_factor`` about their
    centres (1.3 in the paper; each pooled on the level of its unscaled size).

    Args:
        reg_roi_scale_factor: the regression branch's RoI enlargement.
        **kwargs: :class:`StandardRoIHead`'s; a mask branch needs its own ``mask_roi_extractor``.
    """

    def __init__(self, reg_roi_scale_factor: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.share_roi_extractor:
            raise ValueError("DoubleHeadRoIHead: give the mask branch its own mask_roi_extractor")
        self.reg_roi_scale_factor = reg_roi_scale_factor

    def bbox_forward(
        self, stage: int, feats: tuple[Tensor, ...], rois: Tensor, grad_scale: float = 1.0
    ) -> tuple[Tensor, Tensor]:
        """``(cls_score, bbox_pred)`` from the two poolings of ``rois (K, 5)``."""
        extractor = self.stage_bbox_roi_extractor(stage)
        cls_feats = self.roi_feats(extractor, feats, rois, grad_scale)

        def enlarged(levels: tuple[Tensor, ...], boxes: Tensor) -> Tensor:
            return extractor(levels, boxes, roi_scale_factor=self.reg_roi_scale_factor)

        return self.stage_bbox_head(stage)(cls_feats, self.roi_feats(enlarged, feats, rois, grad_scale))
