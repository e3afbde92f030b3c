"""Named two-stage detectors, as MMDetection users write them in configs."""

from mmcascade.registry import MODELS

from .two_stage import TwoStageDetector


@MODELS.register_module()
class CascadeRCNN(TwoStageDetector):
    """Cascade R-CNN / Cascade Mask R-CNN (the RoI head is a ``CascadeRoIHead``)."""


@MODELS.register_module()
class FasterRCNN(TwoStageDetector):
    """Faster R-CNN with FPN (a ``StandardRoIHead`` without masks)."""


@MODELS.register_module()
class MaskRCNN(TwoStageDetector):
    """Mask R-CNN (a ``StandardRoIHead`` with a mask branch)."""


@MODELS.register_module()
class FastRCNN(TwoStageDetector):
    """Fast R-CNN: no RPN; the RoI head works on each image's precomputed proposals (the
    dataset's ``proposal_file``, ``LoadProposals``)."""

    def __init__(
        self,
        backbone: dict,
        roi_head: dict,
        train_cfg: dict | None,
        test_cfg: dict | None,
        rpn_head: None = None,
        **kwargs,
    ) -> None:
        if rpn_head is not None:
            raise ValueError("FastRCNN has no RPN (rpn_head must be None): its proposals come with the data")
        super().__init__(
            backbone=backbone, rpn_head=None, roi_head=roi_head, train_cfg=train_cfg, test_cfg=test_cfg, **kwargs
        )
