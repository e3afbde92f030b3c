"""RoI box heads: shared convolutions and FCs, then a softmax classifier and a box regressor
(MMDetection's ``ConvFCBBoxHead``, ``Shared2FCBBoxHead`` and ``Shared4Conv1FCBBoxHead``)."""

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.registry import MODELS, TASK_UTILS
from mmcascade.structures import ImageSize
from mmcascade.utils.options import check_extra_options
from mmcascade.utils.typing_utils import OptConfigType, OptMultiConfig

from ...layers import multiclass_nms
from ...losses import accuracy
from ...task_modules import SamplingResult
from ..detections import to_original_frame


@dataclass(frozen=True)
class BBoxTargets:
    """Training targets of the sampled RoIs of a batch (positives first per image).

    ``labels (K,)`` int64 with ``num_classes`` for background; ``label_weights (K,)``;
    ``bbox_targets (K, 4)`` encoded deltas (with ``reg_decoded_bbox``: the ground-truth boxes, xyxy,
    input-image pixels); ``bbox_weights (K, 4)``; ``priors (K, 4)`` the sampled RoIs' boxes.
    """

    labels: Tensor
    label_weights: Tensor
    bbox_targets: Tensor
    bbox_weights: Tensor
    priors: Tensor


@dataclass(frozen=True)
class BBoxLosses:
    """Losses of one box head: ``loss_cls`` (softmax CE over the sampled RoIs), ``loss_bbox``
    (regression of the positives, averaged over all sampled RoIs) and ``acc`` (percent, a metric)."""

    loss_cls: Tensor
    loss_bbox: Tensor
    acc: Tensor


DEFAULT_STDS = (0.1, 0.1, 0.2, 0.2)
# MMDetection's ConvFCBBoxHead options, accepted at the value these heads implement.
MMDET_FIXED_OPTIONS = dict(
    with_cls=True,
    with_reg=True,
    predict_box_type="hbox",
    reg_predictor_cfg=dict(type="Linear"),
    cls_predictor_cfg=dict(type="Linear"),
    num_cls_convs=0,
    num_reg_convs=0,
    num_cls_fcs=0,
    num_reg_fcs=0,
)


@MODELS.register_module()
class ConvFCBBoxHead(BaseModule):
    """``num_shared_convs`` 3x3 conv (+ norm) + ReLU layers (``shared_convs``, mmcv
    ``ConvModule``s), then ``num_shared_fcs`` FC + ReLU layers (``shared_fcs``), ``fc_cls``
    (C + 1) and ``fc_reg``, under MMDetection's module names (checkpoint keys).

    Args:
        in_channels, roi_feat_size: RoI features are ``(K, in_channels, s, s)``.
        num_shared_convs, conv_out_channels: the shared convolutions and their width (256).
        conv_cfg, norm_cfg: their convolution (e.g. ``dict(type='ConvWS')``) and normalisation
            (e.g. ``dict(type='GN', num_groups=32)``; a normalised conv has no bias).
        num_shared_fcs, fc_out_channels: the shared FCs and their width (1024).
        num_classes: object classes ``C``; the classifier has ``C + 1`` outputs, background last.
        with_avg_pool: average-pool the (convolved) RoI features to ``1 x 1`` before the FCs or
            predictors (C4: ``(K, 2048, 7, 7)`` -> 2048-d).
        bbox_coder: the stage's :class:`DeltaXYWHBBoxCoder` (its stds differ per cascade stage;
            default means 0, stds ``(0.1, 0.1, 0.2, 0.2)``, as MMDetection).
        reg_class_agnostic: one box per RoI (4 outputs) or one per class (4C).
        loss_cls, loss_bbox: loss configs.

    MMDetection's separate classification / regression branches (``num_cls_convs`` ...) are
    refused by name unless 0.
    """

    def __init__(
        self,
        in_channels: int = 256,
        fc_out_channels: int = 1024,
        roi_feat_size: int = 7,
        num_classes: int = 80,
        bbox_coder: OptConfigType = None,
        reg_class_agnostic: bool = False,
        reg_decoded_bbox: bool = False,
        loss_cls: OptConfigType = None,
        loss_bbox: OptConfigType = None,
        num_shared_convs: int = 0,
        num_shared_fcs: int = 0,
        conv_out_channels: int = 256,
        conv_cfg: OptConfigType = None,
        norm_cfg: OptConfigType = None,
        with_avg_pool: bool = False,
        init_cfg: OptMultiConfig = None,
        **kwargs: Any,
    ) -> None:
        check_extra_options(type(self).__name__, kwargs, MMDET_FIXED_OPTIONS)
        super().__init__(
            init_cfg
            or [
                dict(type="Normal", std=0.01, override=dict(name="fc_cls")),
                dict(type="Normal", std=0.001, override=dict(name="fc_reg")),
                dict(type="Xavier", distribution="uniform", override=dict(name="shared_fcs")),
            ]
        )
        self.reg_decoded_bbox = reg_decoded_bbox
        self.num_classes = num_classes
        self.reg_class_agnostic = reg_class_agnostic
        self.bbox_coder = TASK_UTILS.build(bbox_coder or dict(type="DeltaXYWHBBoxCoder", target_stds=DEFAULT_STDS))
        self.loss_cls = MODELS.build(loss_cls or dict(type="CrossEntropyLoss"))
        self.loss_bbox = MODELS.build(loss_bbox or dict(type="SmoothL1Loss", beta=1.0))
        channels = [in_channels] + [conv_out_channels] * num_shared_convs
        if num_shared_convs:
            self.shared_convs = nn.ModuleList(
                ConvModule(a, b, 3, padding=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg)
                for a, b in zip(channels[:-1], channels[1:])
            )
        self.with_avg_pool = with_avg_pool
        if with_avg_pool:
            self.avg_pool = nn.AvgPool2d(roi_feat_size)
        flat = channels[-1] * (1 if with_avg_pool else roi_feat_size * roi_feat_size)
        dims = [flat] + [fc_out_channels] * num_shared_fcs
        self.shared_fcs = nn.ModuleList([nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])])
        self.fc_cls = nn.Linear(dims[-1], num_classes + 1)
        self.fc_reg = nn.Linear(dims[-1], 4 if reg_class_agnostic else 4 * num_classes)

    def forward(self, roi_feats: Tensor) -> tuple[Tensor, Tensor]:
        """``(K, C, s, s)`` -> logits ``(K, num_classes + 1)``, deltas ``(K, 4)`` or ``(K, 4C)``,
        float32 (also under bf16 autocast: boxes are decoded from them)."""
        x = roi_feats
        for conv in getattr(self, "shared_convs", ()):
            x = conv(x)
        if self.with_avg_pool:
            x = self.avg_pool(x) if x.numel() > 0 else x.mean(dim=(-2, -1))
        x = x.flatten(1)
        for fc in self.shared_fcs:
            x = F.relu(fc(x))
        return self.fc_cls(x).float(), self.fc_reg(x).float()

    def get_targets(self, sampling_results: list[SamplingResult], pos_weight: float = -1) -> BBoxTargets:
        """Targets of all images' sampled RoIs, concatenated in sampling order."""
        parts = [self._targets_single(res, pos_weight) for res in sampling_results]
        return BBoxTargets(*(torch.cat(p) for p in zip(*parts)))

    def _targets_single(self, res: SamplingResult, pos_weight: float) -> tuple[Tensor, ...]:
        num_pos, num = res.num_pos, res.num_pos + res.num_neg
        priors = res.priors
        labels = priors.new_full((num,), self.num_classes, dtype=torch.long)
        label_weights = priors.new_zeros(num)
        targets = priors.new_zeros((num, 4))
        weights = priors.new_zeros((num, 4))
        if num_pos > 0:
            labels[:num_pos] = res.pos_gt_labels
            label_weights[:num_pos] = 1.0 if pos_weight <= 0 else pos_weight
            if self.reg_decoded_bbox:  # the loss compares decoded boxes (IoU-family losses)
                targets[:num_pos] = res.pos_gt_bboxes
            else:
                targets[:num_pos] = self.bbox_coder.encode(res.pos_priors, res.pos_gt_bboxes)
            weights[:num_pos] = 1.0
        label_weights[num_pos:] = 1.0
        return labels, label_weights, targets, weights, priors

    def loss(self, cls_score: Tensor, bbox_pred: Tensor, targets: BBoxTargets) -> BBoxLosses:
        """``loss_cls`` over all sampled RoIs; ``loss_bbox`` over positives, averaged over all RoIs."""
        avg = max(float((targets.label_weights > 0).sum()), 1.0)
        if cls_score.numel() > 0:
            loss_cls = self.loss_cls(cls_score, targets.labels, targets.label_weights, avg_factor=avg)
            acc = accuracy(cls_score, targets.labels)
        else:
            loss_cls, acc = cls_score.sum(), cls_score.new_tensor(0.0)
        pos = (targets.labels >= 0) & (targets.labels < self.num_classes)
        if pos.any():
            pred = self.select_deltas(bbox_pred[pos], targets.labels[pos])
            if self.reg_decoded_bbox:
                pred = self.bbox_coder.decode(targets.priors[pos], pred)
            loss_bbox = self.loss_bbox(
                pred, targets.bbox_targets[pos], targets.bbox_weights[pos], avg_factor=targets.bbox_targets.shape[0]
            )
        else:
            loss_bbox = bbox_pred[pos].sum()
        return BBoxLosses(loss_cls=loss_cls, loss_bbox=loss_bbox, acc=acc)

    def select_deltas(self, bbox_pred: Tensor, labels: Tensor) -> Tensor:
        """``(K, 4)`` deltas of each RoI's class (or the only ones when class-agnostic)."""
        if self.reg_class_agnostic:
            return bbox_pred
        rows = torch.arange(bbox_pred.shape[0], device=bbox_pred.device)
        return bbox_pred.view(bbox_pred.shape[0], self.num_classes, 4)[rows, labels]

    def decode_all(self, boxes: Tensor, bbox_pred: Tensor, img_shape: ImageSize) -> Tensor:
        """Every class's refinement of ``boxes (K, 4)``: ``(K, 4)`` when class-agnostic, else
        ``(K, 4 * num_classes)``; clipped to ``img_shape``."""
        if self.reg_class_agnostic:
            return self.bbox_coder.decode(boxes, bbox_pred, max_shape=img_shape)
        rep = boxes.repeat_interleave(self.num_classes, dim=0)
        decoded = self.bbox_coder.decode(rep, bbox_pred.reshape(-1, 4), max_shape=img_shape)
        return decoded.reshape(boxes.shape[0], 4 * self.num_classes)

    def regress_by_class(
        self, boxes: Tensor, labels: Tensor, bbox_pred: Tensor, img_shape: ImageSize | dict[str, Any]
    ) -> Tensor:
        """Refine ``boxes (K, 4)`` with the deltas of ``labels``; clipped to ``img_shape`` (or an
        image's metainfo, MMDetection's ``img_meta``, whose ``img_shape`` is used)."""
        if isinstance(img_shape, dict):
            img_shape = img_shape["img_shape"]
        deltas = self.select_deltas(bbox_pred, labels.clamp(max=self.num_classes - 1))
        return self.bbox_coder.decode(boxes, deltas, max_shape=img_shape)

    def refine_labels(self, cls_score: Tensor, labels: Tensor) -> Tensor:
        """The class each sampled RoI is regressed with between stages: its assigned class, or
        for a background RoI its best object class by ``cls_score (K, C + 1)``."""
        if cls_score.numel() == 0:
            return labels
        return torch.where(labels == self.num_classes, cls_score[:, :-1].argmax(dim=1), labels)

    # ------------------------------------------------------------- MMDetection's head API
    def predict_by_feat(
        self,
        rois: tuple[Tensor, ...],
        cls_scores: tuple[Tensor, ...],
        bbox_preds: tuple[Tensor, ...],
        batch_img_metas: list[dict[str, Any]],
        rcnn_test_cfg: OptConfigType = None,
        rescale: bool = False,
    ) -> list[InstanceData]:
        """Per image detections from this head's outputs (MMDetection's signature).

        Args:
            rois: per image ``(K_i, 5)`` RoIs, input-image pixels.
            cls_scores: per image ``(K_i, C + 1)`` logits.
            bbox_preds: per image ``(K_i, 4)`` or ``(K_i, 4C)`` deltas.
            batch_img_metas: per image ``img_shape`` and ``scale_factor``.
            rcnn_test_cfg: ``score_thr``, ``nms``, ``max_per_img``; None returns every RoI's
                decoded boxes ``(K_i, 4C)`` and probabilities ``(K_i, C + 1)`` without NMS.
            rescale: boxes in original-image pixels.
        """
        return [
            self.predict_image(r, F.softmax(c, dim=-1), b, meta, rcnn_test_cfg, rescale)
            for r, c, b, meta in zip(rois, cls_scores, bbox_preds, batch_img_metas)
        ]

    def predict_image(
        self, rois: Tensor, probs: Tensor, bbox_pred: Tensor, meta: dict[str, Any], cfg: OptConfigType, rescale: bool
    ) -> InstanceData:
        """One image's detections from ``rois (K, 5)``, class probabilities ``(K, C + 1)`` (one
        stage's, or the cascade's ensemble) and deltas: decode, rescale when ``rescale``, then
        (with ``cfg``) score threshold, class-wise NMS and the top ``max_per_img``."""
        boxes = self.decode_all(rois[:, 1:], bbox_pred, meta["img_shape"])
        if rescale:
            boxes = to_original_frame(boxes, meta, by_reciprocal=True)
        if cfg is None:
            return InstanceData(bboxes=boxes, scores=probs)
        dets, labels = multiclass_nms(boxes, probs, cfg["score_thr"], cfg["nms"], cfg["max_per_img"])
        return InstanceData(bboxes=dets[:, :4], scores=dets[:, 4], labels=labels)

    def refine_bboxes(
        self,
        sampling_results: list[SamplingResult],
        bbox_results: dict[str, Any],
        batch_img_metas: list[dict[str, Any]],
    ) -> list[InstanceData] | None:
        """The boxes the next cascade stage starts from (MMDetection's signature): each sampled
        RoI regressed with its class (:meth:`refine_labels`), ground-truth boxes that were
        sampled as proposals left out. ``bbox_results`` holds ``rois (K, 5)``, ``cls_score``,
        ``bbox_pred`` and ``bbox_targets`` (:class:`BBoxTargets` or MMDetection's tuple, labels
        first). None when there are no RoIs."""
        cls_score, rois, bbox_pred = bbox_results["cls_score"], bbox_results["rois"], bbox_results["bbox_pred"]
        if cls_score.numel() == 0:
            return None
        targets = bbox_results["bbox_targets"]
        labels = self.refine_labels(cls_score, targets.labels if isinstance(targets, BBoxTargets) else targets[0])
        results = []
        for i, (res, meta) in enumerate(zip(sampling_results, batch_img_metas)):
            inds = torch.nonzero(rois[:, 0] == i, as_tuple=False).squeeze(1)
            boxes = self.regress_by_class(rois[inds, 1:], labels[inds], bbox_pred[inds], meta)
            keep = torch.ones(len(inds), dtype=torch.bool, device=boxes.device)
            keep[: len(res.pos_is_gt)] = res.pos_is_gt == 0
            results.append(InstanceData(bboxes=boxes[keep]))
        return results


@MODELS.register_module()
class Shared2FCBBoxHead(ConvFCBBoxHead):
    """Two shared FCs (the Cascade R-CNN rows' box head)."""

    def __init__(self, fc_out_channels: int = 1024, num_shared_fcs: int = 2, **kwargs: Any) -> None:
        if num_shared_fcs != 2 or kwargs.get("num_shared_convs", 0) != 0:
            raise ValueError("Shared2FCBBoxHead has 2 shared FCs and no convs; use ConvFCBBoxHead for others")
        kwargs.pop("num_shared_convs", None)
        super().__init__(fc_out_channels=fc_out_channels, num_shared_convs=0, num_shared_fcs=2, **kwargs)


@MODELS.register_module()
class Shared4Conv1FCBBoxHead(ConvFCBBoxHead):
    """Four shared 3x3 convs and one FC (the GN, GN+WS, ConvNeXt and Swin cascade rows' box head,
    usually with ``norm_cfg=dict(type='GN', ...)``)."""

    def __init__(self, fc_out_channels: int = 1024, **kwargs: Any) -> None:
        for name, fixed in (("num_shared_convs", 4), ("num_shared_fcs", 1)):
            if kwargs.pop(name, fixed) != fixed:
                raise ValueError(f"Shared4Conv1FCBBoxHead has {name}={fixed}; use ConvFCBBoxHead for others")
        super().__init__(fc_out_channels=fc_out_channels, num_shared_convs=4, num_shared_fcs=1, **kwargs)


@MODELS.register_module()
class BBoxHead(ConvFCBBoxHead):
    """MMDetection's plain box head: the classifier and the regressor straight on the RoI
    features, flattened, or average-pooled with ``with_avg_pool`` (the C4 rows: ``in_channels=2048``
    after the shared ``res5``). No shared layers."""

    def __init__(self, **kwargs: Any) -> None:
        for name in ("num_shared_convs", "num_shared_fcs"):
            if kwargs.pop(name, 0) != 0:
                raise ValueError(f"BBoxHead has no shared layers ({name}=0); use ConvFCBBoxHead for them")
        super().__init__(num_shared_convs=0, num_shared_fcs=0, **kwargs)
