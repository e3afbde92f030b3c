"""Region Proposal Network head: objectness and box deltas per anchor, proposals by NMS."""

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.ops import batched_nms, top_k_rows
from mmcascade.ops.nms import check_nms_cfg
from mmcascade.registry import MODELS, TASK_UTILS
from mmcascade.structures import scale_boxes
from mmcascade.utils.options import check_block_keys, check_extra_options

from ..layers import finite_rows
from ..task_modules.prior_generators import anchor_inside_flags
from .base_dense_head import BaseDenseHead, larger_than

RPN_TRAIN_KEYS = ("assigner", "sampler", "allowed_border", "pos_weight")
PROPOSAL_KEYS = ("nms_pre", "max_per_img", "nms", "min_bbox_size")


@MODELS.register_module()
class RPNHead(BaseDenseHead):
    """A shared 3x3 conv, then 1x1 convs ``rpn_cls`` (A x 1, sigmoid) and ``rpn_reg`` (A x 4).

    Args:
        in_channels: channels of each FPN level.
        feat_channels: channels of ``rpn_conv``.
        num_convs: shared 3x3 convs; with more than one, ``rpn_conv`` is a sequence of mmcv
            ``ConvModule``s (conv + ReLU), as MMDetection's 2-conv RPN.
        anchor_generator, bbox_coder, loss_cls, loss_bbox: component configs.
        train_cfg: ``assigner``, ``sampler`` (RPN targets), ``allowed_border`` (anchors crossing
            the image border by more than this many pixels get no target; -1 keeps every
            anchor), ``pos_weight`` (classification weight of positives; <= 0 means 1),
            ``debug`` (False).
        test_cfg: ``nms_pre``, ``max_per_img``, ``nms``, ``min_bbox_size``.
    """

    def __init__(
        self,
        in_channels: int,
        feat_channels: int = 256,
        num_classes: int = 1,
        anchor_generator: dict | None = None,
        bbox_coder: dict | None = None,
        loss_cls: dict | None = None,
        loss_bbox: dict | None = None,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
        num_convs: int = 1,
        init_cfg: dict | None = None,
        **kwargs,
    ) -> None:
        check_extra_options(type(self).__name__, kwargs, dict(reg_decoded_bbox=False))
        if num_convs < 1:
            raise ValueError(f"RPNHead: num_convs must be at least 1, got {num_convs}")
        super().__init__(init_cfg or dict(type="Normal", layer="Conv2d", std=0.01))
        if num_classes != 1:
            raise ValueError("RPNHead is class-agnostic: num_classes must be 1")
        self.prior_generator = TASK_UTILS.build(
            anchor_generator
            or dict(type="AnchorGenerator", scales=[8], ratios=[0.5, 1.0, 2.0], strides=[4, 8, 16, 32, 64])
        )
        self.bbox_coder = TASK_UTILS.build(bbox_coder or dict(type="DeltaXYWHBBoxCoder"))
        self.loss_cls = MODELS.build(loss_cls or dict(type="CrossEntropyLoss", use_sigmoid=True))
        self.loss_bbox = MODELS.build(loss_bbox or dict(type="SmoothL1Loss", beta=1.0 / 9.0))
        self.train_cfg = ConfigDict(train_cfg) if train_cfg else None
        self.test_cfg = ConfigDict(test_cfg) if test_cfg else None
        check_block_keys("RPNHead test_cfg (test_cfg.rpn)", self.test_cfg, PROPOSAL_KEYS)
        check_nms_cfg("RPNHead test_cfg (test_cfg.rpn)", (self.test_cfg or {}).get("nms"))
        if self.train_cfg is not None:
            check_block_keys("RPNHead train_cfg (train_cfg.rpn)", self.train_cfg, RPN_TRAIN_KEYS, dict(debug=False))
            self.assigner = TASK_UTILS.build(self.train_cfg["assigner"])
            self.sampler = TASK_UTILS.build(self.train_cfg["sampler"])
            self.allowed_border = float(self.train_cfg.get("allowed_border", -1))
            self.pos_weight = float(self.train_cfg.get("pos_weight", -1))
        num_anchors = self.prior_generator.num_base_priors[0]
        self.num_convs = num_convs
        if num_convs == 1:
            self.rpn_conv: nn.Module = nn.Conv2d(in_channels, feat_channels, 3, padding=1)
        else:
            self.rpn_conv = nn.Sequential(
                *(
                    ConvModule(in_channels if i == 0 else feat_channels, feat_channels, 3, padding=1, inplace=False)
                    for i in range(num_convs)
                )
            )
        self.rpn_cls = nn.Conv2d(feat_channels, num_anchors, 1)
        self.rpn_reg = nn.Conv2d(feat_channels, num_anchors * 4, 1)

    def forward(self, feats: tuple[Tensor, ...]) -> tuple[list[Tensor], list[Tensor]]:
        """Per level: objectness ``(B, A, H, W)`` and deltas ``(B, 4A, H, W)``, float32 (also
        under bf16 autocast: boxes are decoded from them)."""
        cls_scores, bbox_preds = [], []
        for x in feats:
            x = F.relu(self.rpn_conv(x))
            cls_scores.append(self.rpn_cls(x).float())
            bbox_preds.append(self.rpn_reg(x).float())
        return cls_scores, bbox_preds

    @staticmethod
    def _flatten(maps: list[Tensor], img_id: int, channels: int) -> list[Tensor]:
        return [m[img_id].permute(1, 2, 0).reshape(-1, channels) for m in maps]

    def loss_by_feat(
        self,
        cls_scores: list[Tensor],
        bbox_preds: list[Tensor],
        batch_gt_instances: list[InstanceData],
        batch_img_metas: list[dict],
        batch_gt_instances_ignore: list[InstanceData | None] | None = None,
    ) -> dict[str, Tensor]:
        """Sigmoid CE over the sampled anchors and smooth-L1 over the positives, both divided by
        the number of sampled anchors of the batch (``avg_factor``). Only anchors inside the
        image by ``allowed_border`` (and inside the padded input) are assigned and sampled;
        the others carry zero weight. MMDetection's signature: per image the ground truth
        (``bboxes``, ``labels``), its metainfo (``img_shape``, ``pad_shape``) and optionally the
        boxes to ignore."""
        ignored = batch_gt_instances_ignore or [None] * len(batch_gt_instances)
        sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        device = cls_scores[0].device
        anchors = torch.cat(self.prior_generator.grid_priors(sizes, device))
        targets_per_img = [
            self._targets_single(anchors, sizes, gt, meta, ign)
            for gt, meta, ign in zip(batch_gt_instances, batch_img_metas, ignored)
        ]
        labels, label_w, targets, target_w, counts = zip(*targets_per_img)
        avg_factor = sum(counts)
        num_imgs = len(batch_gt_instances)
        cls = torch.cat([torch.cat(self._flatten(cls_scores, i, 1)) for i in range(num_imgs)])
        reg = torch.cat([torch.cat(self._flatten(bbox_preds, i, 4)) for i in range(num_imgs)])
        loss_cls = self.loss_cls(cls, torch.cat(labels), torch.cat(label_w), avg_factor=avg_factor)
        loss_bbox = self.loss_bbox(reg, torch.cat(targets), torch.cat(target_w), avg_factor=avg_factor)
        return dict(loss_rpn_cls=loss_cls, loss_rpn_bbox=loss_bbox)

    def _targets_single(
        self, anchors: Tensor, sizes: list[tuple[int, int]], gt: InstanceData, meta: dict, ignored: InstanceData | None
    ) -> tuple:
        """Targets of one image over all ``anchors (N, 4)`` (input-image pixels): labels (0
        object, 1 background), label weights, box deltas, delta weights, and the number of
        sampled anchors."""
        pad_shape = meta.get("pad_shape") or meta.get("batch_input_shape") or meta["img_shape"]
        valid = torch.cat(self.prior_generator.valid_flags(sizes, pad_shape[:2], anchors.device))
        inside = anchor_inside_flags(anchors, valid, meta["img_shape"], self.allowed_border)
        if not bool(inside.any()):
            raise ValueError(
                f"{meta.get('img_path')}: no anchor lies inside the image "
                f"{tuple(meta['img_shape'])} with allowed_border={self.allowed_border:g}; "
                f"use a larger allowed_border or -1"
            )
        inside_idx = torch.nonzero(inside, as_tuple=False).squeeze(1)
        candidates = anchors[inside_idx]
        ignored_boxes = ignored.bboxes if ignored is not None and "bboxes" in ignored else None
        assign = self.assigner.assign(candidates, gt.bboxes, torch.zeros_like(gt.labels), ignored_boxes)
        res = self.sampler.sample(assign, candidates, gt.bboxes, torch.zeros_like(gt.labels))
        num = anchors.shape[0]
        labels = anchors.new_full((num,), 1, dtype=torch.long)
        label_w = anchors.new_zeros(num)
        targets = anchors.new_zeros((num, 4))
        target_w = anchors.new_zeros((num, 4))
        pos, neg = inside_idx[res.pos_inds], inside_idx[res.neg_inds]
        if res.num_pos > 0:
            labels[pos] = 0
            label_w[pos] = self.pos_weight if self.pos_weight > 0 else 1.0
            targets[pos] = self.bbox_coder.encode(res.pos_priors, res.pos_gt_bboxes)
            target_w[pos] = 1.0
        label_w[neg] = 1.0
        return labels, label_w, targets, target_w, res.avg_factor

    @torch.no_grad()
    def predict_by_feat(
        self,
        cls_scores: list[Tensor],
        bbox_preds: list[Tensor],
        score_factors: list[Tensor] | None = None,
        batch_img_metas: list[dict] | None = None,
        cfg: ConfigDict | dict | None = None,
        rescale: bool = False,
        with_nms: bool = True,
    ) -> list[InstanceData]:
        """Proposals per image: ``bboxes (K, 4)`` xyxy in the resized input (original-image
        pixels with ``rescale``), ``scores (K,)`` (MMDetection's signature).

        Args:
            cls_scores, bbox_preds: the head's outputs per level.
            score_factors: must be None (the RPN has no centerness).
            batch_img_metas: per image ``img_shape`` (and ``scale_factor`` for ``rescale``).
            cfg: ``nms_pre``, ``min_bbox_size``, ``nms``, ``max_per_img`` (default ``test_cfg``).
            rescale: divide the boxes by ``scale_factor`` before size filtering and NMS.
            with_nms: must be True: proposals are always NMS-ed (as in MMDetection).
        """
        if score_factors is not None:
            raise ValueError("RPNHead.predict_by_feat: score_factors must be None (the RPN has none)")
        if not with_nms:
            raise ValueError("RPNHead.predict_by_feat: with_nms must be True (proposals are always NMS-ed)")
        if batch_img_metas is None:
            raise ValueError("RPNHead.predict_by_feat needs batch_img_metas (each image's img_shape)")
        cfg = ConfigDict(cfg) if cfg is not None else self.test_cfg
        sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        anchors = self.prior_generator.grid_priors(sizes, cls_scores[0].device)
        return [
            self._proposals_single(
                self._flatten(cls_scores, i, 1), self._flatten(bbox_preds, i, 4), anchors, meta, cfg, rescale
            )
            for i, meta in enumerate(batch_img_metas)
        ]

    def _proposals_single(
        self,
        scores_lvls: list[Tensor],
        deltas_lvls: list[Tensor],
        anchors_lvls: list[Tensor],
        meta: dict,
        cfg: ConfigDict,
        rescale: bool = False,
    ) -> InstanceData:
        nms_pre = cfg.get("nms_pre", -1)
        scores, deltas, priors, level_ids = [], [], [], []
        for lvl, (s, d, a) in enumerate(zip(scores_lvls, deltas_lvls, anchors_lvls)):
            s, d, a = top_k_rows(s.reshape(-1).sigmoid(), nms_pre, d, a)
            scores.append(s)
            deltas.append(d)
            priors.append(a)
            level_ids.append(s.new_full((s.shape[0],), lvl, dtype=torch.long))
        scores = torch.cat(scores)
        boxes = self.bbox_coder.decode(torch.cat(priors), torch.cat(deltas), max_shape=meta["img_shape"])
        if rescale:
            boxes = scale_boxes(boxes, [1 / s for s in meta["scale_factor"]])
        level_ids = torch.cat(level_ids)
        keep = finite_rows(boxes, scores) & larger_than(boxes, cfg.get("min_bbox_size", -1))
        boxes, scores, level_ids = boxes[keep], scores[keep], level_ids[keep]
        result = InstanceData()
        dets, _ = batched_nms(boxes, scores, level_ids, cfg["nms"])
        dets = dets[: cfg["max_per_img"]]
        result.bboxes, result.scores = dets[:, :4], dets[:, 4]
        result.labels = torch.zeros(len(dets), dtype=torch.long, device=dets.device)  # "object"
        return result
