"""The RoI head of a two-stage detector, read top to bottom: :meth:`BaseRoIHead.run_stages` is
the one pass through the box stages that training (:meth:`~BaseRoIHead.loss`), prediction
(:meth:`~BaseRoIHead.predict`) and the per-stage analysis share; Faster / Mask R-CNN run it with
one stage, Cascade (Mask) R-CNN with ``N`` (Cai & Vasconcelos, CVPR 2018).

Box frames: RoIs and boxes inside the head are xyxy pixels of the *network input* (the resized,
maybe flipped image; ``img_shape``), written ``*_img`` or ``rois``; only the final detections
of :meth:`~BaseRoIHead.predict` are rescaled to the *original* image (``ori_shape``) when
``rescale`` is set, written ``*_ori``. A RoI tensor is ``(K, 5)``: batch index, then xyxy.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.ops import image_rows
from mmcascade.ops.nms import check_nms_cfg
from mmcascade.structures import SampleList, bbox2roi
from mmcascade.utils.options import check_block_keys
from mmcascade.utils.typing_utils import ConfigType, OptConfigType, OptMultiConfig

from ..layers import scale_grad
from ..task_modules import SamplingResult
from .bbox_heads import BBoxTargets, Shared2FCBBoxHead
from .detections import (
    MASK_FORMATS,
    MetaInfo,
    empty_instances,
    output_shape,
    to_original_frame,
    use_cropped_masks,
    with_pasted_masks,
)
from .mask_heads import FCNMaskHead
from .roi_extractors import SingleRoIExtractor
from .stage_record import StageRecord, positive_rows
from .stage_settings import StageTrainSettings, build_stage_settings

TEST_ENSEMBLES = ("logits", "last_rois_probs")
RoIPooler = Callable[[tuple[Tensor, ...], Tensor], Tensor]  # (feats, rois (K, 5)) -> (K, C, s, s)
RCNN_TEST_KEYS = ("score_thr", "nms", "max_per_img", "mask_thr_binary", "mask_format")


class BaseRoIHead(BaseModule):
    """Box stages (and, optionally, a mask branch per stage) on pooled RoI features.

    Subclasses decide how the modules are stored (that is what their checkpoint keys are) by
    implementing :meth:`_build_modules` and the four ``stage_*`` accessors; everything else is here.

    Args:
        num_stages: number of box stages ``N``.
        stage_loss_weights: ``N`` loss multipliers.
        train_cfg: the ``rcnn`` settings: one dict per stage (assigner, sampler, pos_weight, mask_size).
        test_cfg: ``score_thr``, ``nms``, ``max_per_img``, ``mask_thr_binary`` and ``mask_format``:
            ``'bitmap'`` returns masks as ``(D, H, W)`` bool tensors, ``'cropped'`` as
            :class:`~mmcascade.structures.CroppedMasks` (each mask inside its box's window),
            ``'auto'`` (default) bitmaps up to :data:`~.detections.CROPPED_MASKS_ABOVE` output pixels, cropped above.
        test_ensemble: ``'logits'`` (OpenMMLab): the stages' logits, each on the RoIs that entered
            that stage, averaged then soft-maxed. ``'last_rois_probs'`` (the author's Detectron
            code): every stage's classifier on the last stage's RoIs, probabilities averaged.
        resample_later_stages: True assigns and samples again at every stage; False (author)
            trains later stages on all refined boxes plus the ground truth.
        compensate_stage_grads: False scales a stage's whole loss; True (author) keeps the heads'
            own gradients at full strength and scales what flows into the features instead.
    """

    num_stages: int
    with_mask: bool

    def __init__(
        self,
        num_stages: int,
        stage_loss_weights: list[float],
        train_cfg: OptMultiConfig,
        test_cfg: OptConfigType,
        test_ensemble: str = "logits",
        resample_later_stages: bool = True,
        compensate_stage_grads: bool = False,
        init_cfg: OptMultiConfig = None,
    ) -> None:
        super().__init__(init_cfg)
        if len(stage_loss_weights) != num_stages:
            raise ValueError(f"{len(stage_loss_weights)} stage_loss_weights for {num_stages} stages")
        if test_ensemble not in TEST_ENSEMBLES:
            raise ValueError(f"test_ensemble must be one of {TEST_ENSEMBLES}, got {test_ensemble!r}")
        self.num_stages = num_stages
        self.stage_loss_weights = list(stage_loss_weights)
        self.test_ensemble = test_ensemble
        self.compensate_stage_grads = compensate_stage_grads
        self.train_cfg = train_cfg
        self.test_cfg = ConfigDict(test_cfg) if test_cfg else None
        where = f"{type(self).__name__} test_cfg (test_cfg.rcnn)"
        check_block_keys(where, self.test_cfg, RCNN_TEST_KEYS)
        check_nms_cfg(where, (self.test_cfg or {}).get("nms"))
        mask_format = (self.test_cfg or {}).get("mask_format", "auto")
        if mask_format not in MASK_FORMATS:
            raise ValueError(f"{where}: mask_format must be one of {MASK_FORMATS}, got {mask_format!r}")
        self.stages: list[StageTrainSettings] = []
        if train_cfg is not None:
            self.stages = build_stage_settings(train_cfg, self.stage_loss_weights, resample_later_stages, context=self)

    @property
    def with_bbox(self) -> bool:
        """Whether there is a box branch (MMDetection's flag; every RoI head here has one)."""
        return getattr(self, "bbox_head", None) is not None

    @property
    def with_shared_head(self) -> bool:
        """Whether a shared head (C4's last ResNet stage, :class:`ResLayer`) runs on the pooled
        features before the box and mask heads."""
        return getattr(self, "shared_head", None) is not None

    @property
    def share_roi_extractor(self) -> bool:
        """Whether the mask branch pools with the box extractor (no ``mask_roi_extractor``; C4):
        in training it then reuses the positives' box features, as MMDetection does."""
        return self.with_mask and getattr(self, "mask_roi_extractor", None) is None

    # ------------------------------------------------------------------ modules of a stage
    def stage_bbox_roi_extractor(self, stage: int) -> SingleRoIExtractor:
        """The box RoI extractor of ``stage`` (0-based)."""
        raise NotImplementedError

    def stage_bbox_head(self, stage: int) -> Shared2FCBBoxHead:
        """The box head of ``stage``."""
        raise NotImplementedError

    def stage_mask_roi_extractor(self, stage: int) -> SingleRoIExtractor:
        """The mask RoI extractor of ``stage`` (a mask branch only; the box one when shared)."""
        raise NotImplementedError

    def stage_mask_head(self, stage: int) -> FCNMaskHead:
        """The mask head of ``stage`` (a mask branch only)."""
        raise NotImplementedError

    def loss_name(self, stage: int, name: str) -> str:
        """The key of a stage's loss term in the loss dict."""
        raise NotImplementedError

    def pooling_layout(self, feats: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """``feats`` in the layout the extractors pool from fastest (see the RoI extractor)."""
        return self.stage_bbox_roi_extractor(0).pooling_layout(feats)

    def roi_feats(self, pool: RoIPooler, feats: tuple[Tensor, ...], rois: Tensor, grad_scale: float = 1.0) -> Tensor:
        """``(K, C, s, s)`` features of ``rois (K, 5)`` pooled by ``pool`` (a RoI extractor, maybe with
        options bound), then through the shared head when there is one (C4: ``(K, 2048, 7, 7)``)."""
        pooled = scale_grad(pool(feats, rois), grad_scale)
        return self.shared_head(pooled) if self.with_shared_head else pooled

    def bbox_forward(
        self, stage: int, feats: tuple[Tensor, ...], rois: Tensor, grad_scale: float = 1.0
    ) -> tuple[Tensor, Tensor]:
        """``(cls_score (K, C + 1), bbox_pred (K, 4 or 4 C))`` of ``stage`` for ``rois (K, 5)``."""
        roi_feats = self.roi_feats(self.stage_bbox_roi_extractor(stage), feats, rois, grad_scale)
        return self.stage_bbox_head(stage)(roi_feats)

    def mask_forward(self, stage: int, feats: tuple[Tensor, ...], rois: Tensor, grad_scale: float = 1.0) -> Tensor:
        """Mask logits ``(K, C, 28, 28)`` of ``stage`` for ``rois (K, 5)``."""
        roi_feats = self.roi_feats(self.stage_mask_roi_extractor(stage), feats, rois, grad_scale)
        return self.stage_mask_head(stage)(roi_feats)

    # ------------------------------------------------------------------ the one pass
    def run_stages(
        self,
        feats: tuple[Tensor, ...],
        proposals: list[Tensor],
        metas: list[MetaInfo],
        gt_instances: list[InstanceData] | None = None,
        gt_instances_ignore: list[InstanceData | None] | None = None,
    ) -> list[StageRecord]:
        """Run the box stages once, each on the boxes the one before refined.

        Args:
            feats: FPN maps, in :meth:`pooling_layout`.
            proposals: per image ``(P_i, 4)`` xyxy input-image pixels (the RPN's boxes).
            metas: per image metainfo (``img_shape`` clips the refined boxes).
            gt_instances: given in training: each stage then assigns and samples its input
                boxes against them (its IoU threshold), records its targets, and refines with
                the assigned class (background RoIs: their best class), dropping ground-truth RoIs.
                At inference every proposal goes through every stage and is refined with its
                best non-background class.
            gt_instances_ignore: per image the ignored ground truth (``bboxes``: crowd regions)
                or None; each stage's assigner ignores boxes over it (``ignore_iof_thr``).

        Returns:
            one :class:`StageRecord` per stage.
        """
        if gt_instances is not None and not self.stages:
            raise RuntimeError(f"{type(self).__name__} needs train_cfg to train")
        records = []
        boxes = proposals
        for stage in range(self.num_stages):
            head = self.stage_bbox_head(stage)
            samples: list[SamplingResult] | None = None
            grad_scale = 1.0
            if gt_instances is not None:
                settings = self.stages[stage]
                ignored = gt_instances_ignore or [None] * len(gt_instances)
                samples = [
                    settings.sample(b, gt, ig, feats=tuple(f[i : i + 1] for f in feats))
                    for i, (b, gt, ig) in enumerate(zip(boxes, gt_instances, ignored))
                ]
                boxes = [s.priors for s in samples]
                grad_scale = self._stage_scales(settings)[1]
            rois = bbox2roi(boxes).to(feats[0].device)
            roi_feats = None
            if samples is not None and self.share_roi_extractor:  # the mask head reuses the positives'
                roi_feats = self.roi_feats(self.stage_bbox_roi_extractor(stage), feats, rois, grad_scale)
            cls_score, bbox_pred = (
                self.bbox_forward(stage, feats, rois, grad_scale) if roi_feats is None else head(roi_feats)
            )
            targets = None if samples is None else head.get_targets(samples, self.stages[stage].pos_weight)
            refined = None
            if stage < self.num_stages - 1:
                with torch.no_grad():
                    labels = self._refine_labels(stage, cls_score, targets)
                    refined = self.refine_boxes(stage, rois, labels, bbox_pred, metas)
                    if samples is not None:
                        refined = [s.without_gt_rois(b) for b, s in zip(refined, samples)]
                boxes = refined
            records.append(StageRecord(rois, cls_score, bbox_pred, refined, samples, targets, roi_feats))
        return records

    def _stage_scales(self, settings: StageTrainSettings) -> tuple[float, float]:
        """``(loss multiplier, scale of the gradient into the shared features)`` of a stage: its
        weight on the loss, or (``compensate_stage_grads``) on the feature gradient only."""
        if self.compensate_stage_grads:
            return 1.0, settings.loss_weight
        return settings.loss_weight, 1.0

    def _refine_labels(self, stage: int, cls_score: Tensor, targets: BBoxTargets | None) -> Tensor:
        """The class each RoI is regressed with: its assigned class in training (background: its
        best class), its best non-background class at inference."""
        if targets is None:
            return cls_score[:, :-1].argmax(dim=1)
        return self.stage_bbox_head(stage).refine_labels(cls_score, targets.labels)

    def refine_boxes(
        self, stage: int, rois: Tensor, labels: Tensor, bbox_pred: Tensor, metas: list[MetaInfo]
    ) -> list[Tensor]:
        """Per image ``(K_i, 4)`` xyxy input-image pixels: ``stage``'s regression of ``rois (K, 5)``
        with the deltas of ``labels (K,)``, clipped to that image's ``img_shape``."""
        head = self.stage_bbox_head(stage)
        refined = []
        for i, meta in enumerate(metas):
            inds = torch.nonzero(rois[:, 0] == i, as_tuple=False).squeeze(1)
            boxes_img = head.regress_by_class(rois[inds, 1:], labels[inds], bbox_pred[inds], meta["img_shape"])
            refined.append(boxes_img.to(rois.dtype))
        return refined

    def ensemble_probs(self, feats: tuple[Tensor, ...], records: list[StageRecord]) -> Tensor:
        """``(K, C + 1)`` class probabilities of the last stage's RoIs from all stages'
        classifiers, by ``test_ensemble``."""
        if self.test_ensemble == "logits":
            return F.softmax(torch.stack([r.cls_score for r in records]).mean(dim=0), dim=-1)
        last_rois = records[-1].rois
        probs = [F.softmax(self.bbox_forward(s, feats, last_rois)[0], dim=-1) for s in range(self.num_stages - 1)]
        probs.append(F.softmax(records[-1].cls_score, dim=-1))
        return torch.stack(probs).mean(dim=0)

    # ------------------------------------------------------------------ training
    def loss(
        self, feats: tuple[Tensor, ...], rpn_results: list[InstanceData], batch_data_samples: SampleList
    ) -> dict[str, Tensor]:
        """Every stage's ``loss_cls``, ``acc``, ``loss_bbox`` (and ``loss_mask``), keyed by
        :meth:`loss_name` (``s{i}.loss_cls`` for a cascade) and weighted by the stage weight."""
        gts = [s.gt_instances for s in batch_data_samples]
        metas = [s.metainfo for s in batch_data_samples]
        feats = self.pooling_layout(feats)
        ignored = [s.ignored_instances if "ignored_instances" in s else None for s in batch_data_samples]
        records = self.run_stages(feats, [r.bboxes for r in rpn_results], metas, gts, ignored)
        losses: dict[str, Tensor] = {}
        for stage, (record, settings) in enumerate(zip(records, self.stages)):
            weight, grad_scale = self._stage_scales(settings)
            assert record.samples is not None and record.targets is not None  # set by run_stages in training
            box = self.stage_bbox_head(stage).loss(record.cls_score, record.bbox_pred, record.targets)
            losses[self.loss_name(stage, "loss_cls")] = box.loss_cls * weight
            losses[self.loss_name(stage, "acc")] = box.acc
            losses[self.loss_name(stage, "loss_bbox")] = box.loss_bbox * weight
            if self.with_mask:
                mask_loss = self._mask_loss(stage, feats, record, gts, settings, grad_scale)
                losses[self.loss_name(stage, "loss_mask")] = mask_loss * weight
        return losses

    def _mask_loss(
        self,
        stage: int,
        feats: tuple[Tensor, ...],
        record: StageRecord,
        gts: list[InstanceData],
        settings: StageTrainSettings,
        grad_scale: float,
    ) -> Tensor:
        """Mask loss of ``stage`` on its positive RoIs (targets cropped from the ground-truth masks);
        their features are pooled again, or with a shared extractor taken from the box pass."""
        samples, head = record.samples, self.stage_mask_head(stage)
        assert samples is not None  # a training record
        if record.roi_feats is None:
            mask_preds = self.mask_forward(stage, feats, bbox2roi([s.pos_priors for s in samples]), grad_scale)
        else:
            mask_preds = head(record.roi_feats[positive_rows(samples).to(record.roi_feats.device)])
        targets = head.get_targets(samples, [gt.masks for gt in gts], settings.mask_size)
        labels = torch.cat([s.pos_gt_labels for s in samples])
        return head.loss(mask_preds, targets.to(mask_preds.device), labels)

    # ------------------------------------------------------------------ inference
    def _test_settings(self) -> ConfigType:
        if self.test_cfg is None:
            raise RuntimeError(f"{type(self).__name__} needs test_cfg (the config's test_cfg.rcnn) to predict")
        return dict(self.test_cfg)

    @torch.no_grad()
    def predict(
        self,
        feats: tuple[Tensor, ...],
        rpn_results: list[InstanceData],
        batch_data_samples: SampleList,
        rescale: bool = True,
        mask_format: str | None = None,
    ) -> list[InstanceData]:
        """Detections per image: ``bboxes (D, 4)`` xyxy (original-image pixels when ``rescale``,
        else input-image pixels), ``scores (D,)``, ``labels (D,)`` and, with a mask branch,
        ``masks`` in the same frame: ``(D, H, W)`` bool, or :class:`CroppedMasks` by
        ``mask_format`` (default ``test_cfg.mask_format``; large images by default)."""
        metas = [s.metainfo for s in batch_data_samples]
        proposals = [r.bboxes for r in rpn_results]
        feats = self.pooling_layout(feats)
        cfg = self._test_settings()
        mask_format = mask_format or cfg.get("mask_format", "auto")
        if sum(len(p) for p in proposals) == 0:
            shapes = [output_shape(m, rescale) for m in metas]
            return [empty_instances(feats[0], self.with_mask, s, use_cropped_masks(s, mask_format)) for s in shapes]
        results = self.detect(feats, proposals, metas, rescale)
        if not self.with_mask:
            return results
        threshold = cfg.get("mask_thr_binary", 0.5)
        return [
            with_pasted_masks(det, det.mask_probs, meta, rescale, threshold, mask_format)
            for det, meta in zip(results, metas)
        ]

    def detect(
        self, feats: tuple[Tensor, ...], proposals: list[Tensor], metas: list[MetaInfo], rescale: bool = True
    ) -> list[InstanceData]:
        """Detections per image before mask pasting (what an exported graph computes): every
        stage on the proposals (:meth:`run_stages`), the score ensemble, decoding by the last
        stage, score threshold, class-wise NMS and ``max_per_img``; with a mask branch, every
        stage's mask probabilities on the final boxes, averaged.

        Args:
            feats: FPN maps in :meth:`pooling_layout`.
            proposals: per image ``(P_i, 4)`` xyxy input-image pixels.
            metas: per image ``img_shape`` and ``scale_factor`` (Python values, or tensors in a
                traced graph).
            rescale: return boxes in original-image pixels.

        Returns:
            per image ``bboxes (D, 4)``, ``scores (D,)``, ``labels (D,)`` and, with masks,
            ``mask_probs (D, h, w)`` float32: each detection's class channel in box coordinates.
        """
        records = self.run_stages(feats, proposals, metas)
        last = records[-1]
        probs = self.ensemble_probs(feats, records)
        # with masks, boxes stay in the input frame until the masks are pooled from them
        box_rescale = rescale and not self.with_mask
        rows = image_rows(last.rois[:, 0], [len(p) for p in proposals])
        results = [
            self._detect_image(last.rois[r], probs[r], last.bbox_pred[r], meta, box_rescale)
            for r, meta in zip(rows, metas)
        ]
        if self.with_mask:
            for det, mask_probs, meta in zip(results, self._mask_probs(feats, results), metas):
                det.mask_probs = mask_probs
                if rescale:
                    det.bboxes = to_original_frame(det.bboxes, meta)
        return results

    def _detect_image(
        self, rois: Tensor, probs: Tensor, bbox_pred: Tensor, meta: MetaInfo, rescale: bool
    ) -> InstanceData:
        """One image's detections from the last stage's ``rois (K, 5)`` and deltas and the
        ensembled ``probs (K, C + 1)`` (:meth:`ConvFCBBoxHead.predict_image`)."""
        head = self.stage_bbox_head(self.num_stages - 1)
        return head.predict_image(rois, probs, bbox_pred, meta, self._test_settings(), rescale)

    def _mask_probs(self, feats: tuple[Tensor, ...], dets_img: list[InstanceData]) -> list[Tensor]:
        """Per image ``(D, h, w)``: every stage's mask probabilities on the boxes of ``dets_img``
        (input-image pixels), averaged, each detection's class channel."""
        mask_rois = bbox2roi([r.bboxes for r in dets_img])
        probs = torch.stack(
            [self.mask_forward(stage, feats, mask_rois).sigmoid() for stage in range(self.num_stages)]
        ).mean(dim=0)
        head = self.stage_mask_head(self.num_stages - 1)
        rows = image_rows(mask_rois[:, 0], [len(r) for r in dets_img])
        return [head.select_probs(probs[r], det.labels) for r, det in zip(rows, dets_img)]
