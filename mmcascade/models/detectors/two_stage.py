"""Backbone + neck + RPN + RoI head."""

import warnings

import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.ops.nms import check_nms_cfg
from mmcascade.registry import MODELS
from mmcascade.structures import SampleList
from mmcascade.utils.options import check_block_keys

from ..dense_heads.rpn_head import PROPOSAL_KEYS
from .base import BaseDetector, drop_invalid_gts, with_stage_cfg


@MODELS.register_module()
class TwoStageDetector(BaseDetector):
    """Two-stage detector: ``forward(mode='loss' | 'predict' | 'tensor')``.

    ``train_cfg.rpn`` / ``test_cfg.rpn`` go to the RPN, ``train_cfg.rcnn`` / ``test_cfg.rcnn``
    to the RoI head, ``train_cfg.rpn_proposal`` sets the proposals used for training.

    ``channels_last=True`` keeps conv weights and the backbone / FPN / RPN activations in NHWC
    layout (``torch.channels_last``): the same network and, up to float rounding, the same
    outputs, but oneDNN convolutions on CPU skip their layout reorders (a batch-2 800x1216
    training step of cascade_rcnn_r50_fpn: see the README's benchmarks). Off by default.

    ``inference_dtype='bfloat16'`` (or ``'float16'``) runs ``predict`` under ``torch.autocast``:
    convolutions and linear layers in that dtype, the heads' outputs, box decoding, NMS and mask
    pasting in float32. Training is unaffected. ``init_detector(..., bf16=True)`` and the tools'
    ``--bf16`` set it.
    """

    def __init__(
        self,
        backbone: dict,
        rpn_head: dict | None,
        roi_head: dict,
        neck: dict | None = None,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
        data_preprocessor: dict | None = None,
        init_cfg: dict | None = None,
        channels_last: bool = False,
        inference_dtype: str = "float32",
    ) -> None:
        super().__init__(backbone, neck, data_preprocessor, init_cfg, channels_last, inference_dtype)
        self.check_settings(train_cfg, test_cfg)
        if train_cfg and train_cfg.get("rpn_proposal"):
            check_block_keys("train_cfg.rpn_proposal", train_cfg["rpn_proposal"], PROPOSAL_KEYS)
            check_nms_cfg("train_cfg.rpn_proposal", train_cfg["rpn_proposal"].get("nms"))
        if rpn_head is not None:  # without one, each sample brings its proposals (Fast R-CNN)
            self.rpn_head = MODELS.build(with_stage_cfg(class_agnostic(rpn_head), train_cfg, test_cfg, "rpn"))
        self.roi_head = MODELS.build(with_stage_cfg(roi_head, train_cfg, test_cfg, "rcnn"))
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.finish_init()

    @property
    def with_mask(self) -> bool:
        return self.roi_head.with_mask

    @property
    def with_bbox(self) -> bool:
        return self.roi_head.with_bbox

    @property
    def with_shared_head(self) -> bool:
        return self.roi_head.with_shared_head

    @property
    def with_rpn(self) -> bool:
        return getattr(self, "rpn_head", None) is not None

    @property
    def with_roi_head(self) -> bool:
        return getattr(self, "roi_head", None) is not None

    def _forward(self, inputs: Tensor, data_samples: SampleList | None = None) -> tuple:
        """Raw outputs: FPN features and RPN maps (for FLOPs counting and export)."""
        feats = self.extract_feat(inputs)
        return (feats, self.rpn_head(feats)) if self.with_rpn else (feats,)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict[str, Tensor]:
        """RPN and RoI-head losses of a batch."""
        data_samples = drop_invalid_gts(data_samples)
        feats = self.roi_feature_layout(self.extract_feat(inputs))
        losses: dict[str, Tensor] = {}
        if self.with_rpn:
            proposal_cfg = self.train_cfg.get("rpn_proposal", self.test_cfg["rpn"])
            rpn_losses, proposals = self.rpn_head.loss_and_predict(feats, as_objects(data_samples), proposal_cfg)
            # a proposal head's own names ('loss_cls' of FCOS) must not clash with the RoI head's
            losses.update({k if "rpn" in k or "loss" not in k else f"rpn_{k}": v for k, v in rpn_losses.items()})
        else:
            proposals = given_proposals(data_samples)
        losses.update(self.roi_head.loss(feats, proposals, data_samples))
        return losses

    def predict(
        self, inputs: Tensor, data_samples: SampleList, rescale: bool = True, mask_format: str | None = None
    ) -> SampleList:
        """Adds ``pred_instances`` to each sample (boxes in the original image when ``rescale``).
        ``mask_format`` (``'auto'``, ``'bitmap'``, ``'cropped'``) overrides ``test_cfg.rcnn.mask_format``
        for this call."""
        with self.inference_autocast(inputs):
            feats = self.roi_feature_layout(self.extract_feat(inputs))
            proposals = self.rpn_head.predict(feats, data_samples) if self.with_rpn else given_proposals(data_samples)
            results = self.roi_head.predict(feats, proposals, data_samples, rescale=rescale, mask_format=mask_format)
        for sample, result in zip(data_samples, results):
            sample.pred_instances = result
        return data_samples

    def roi_feature_layout(self, feats: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """The FPN maps in the layout the RoI head pools from fastest (NHWC for the torch
        RoIAlign), converted once, before the RPN (whose convolutions take either layout), so that
        only one copy of each map is kept for the backward pass."""
        return self.roi_head.pooling_layout(feats)


def class_agnostic(rpn_head: dict) -> dict:
    """The proposal head's config with one class ("object"): MMDetection sets ``num_classes=1``
    for any proposal head, warning when the config said otherwise."""
    num_classes = rpn_head.get("num_classes")
    if num_classes not in (None, 1):
        warnings.warn(f"rpn_head.num_classes={num_classes}: a proposal head has one class; set to 1", stacklevel=3)
    return dict(rpn_head, num_classes=1)


def as_objects(samples: SampleList) -> SampleList:
    """The samples as the proposal head sees them: every ground-truth box of class 0 ("object");
    shallow copies, the caller's samples are not modified."""
    out = []
    for sample in samples:
        copy = type(sample)(metainfo=sample.metainfo)
        gt = sample.gt_instances
        copy.gt_instances = InstanceData(bboxes=gt.bboxes, labels=torch.zeros_like(gt.labels))
        if "ignored_instances" in sample:
            copy.ignored_instances = sample.ignored_instances
        out.append(copy)
    return out


def given_proposals(samples: SampleList) -> list:
    """The proposals each sample brought (``LoadProposals``), for a detector without an RPN."""
    missing = [s.metainfo.get("img_path", i) for i, s in enumerate(samples) if "proposals" not in s]
    if missing:
        raise KeyError(
            f"a detector without rpn_head takes each image's proposals from the data: {missing[0]} has none "
            "(LoadProposals and the dataset's proposal_file)"
        )
    return [s.proposals for s in samples]
