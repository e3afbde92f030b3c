"""FCOS head (Tian et al., "FCOS: Fully Convolutional One-Stage Object Detection", ICCV 2019),
here as the proposal network of a two-stage detector (MMDetection's ``faster-rcnn_r50_fpn_fcos-rpn``):
every feature-map point inside an object predicts its class, its distances to the box's four
sides and a centerness that down-weights points far from the centre."""

import warnings

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, Scale
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.ops import batched_nms
from mmcascade.ops.nms import check_nms_cfg
from mmcascade.registry import MODELS, TASK_UTILS
from mmcascade.structures import scale_boxes
from mmcascade.utils.options import check_block_keys, check_extra_options

from .base_dense_head import BaseDenseHead, larger_than

INF = 1e8
GN_32 = dict(type="GN", num_groups=32, requires_grad=True)
TEST_KEYS = ("nms_pre", "max_per_img", "nms", "min_bbox_size", "score_thr")


@MODELS.register_module()
class FCOSHead(BaseDenseHead):
    """``cls_convs`` / ``reg_convs`` (``stacked_convs`` 3x3 ConvModules, GN), ``conv_cls``,
    ``conv_reg``, ``conv_centerness`` and a learnt ``scales[i]`` per level (MMDetection's keys).

    Args:
        num_classes: 1 as a proposal network.
        in_channels, feat_channels, stacked_convs: the towers.
        strides: the levels' strides (``(8, 16, 32, 64, 128)`` on P3-P7).
        regress_ranges: per level, the range of a point's largest side distance it is trained for.
        center_sampling, center_sample_radius: only points within ``radius * stride`` of an
            object's centre are positives.
        norm_on_bbox: distances in strides (ReLU) instead of pixels (exp).
        centerness_on_reg: centerness from the regression tower instead of the classification one.
        conv_bias: ``'auto'`` (a bias only without norm) or a bool.
        loss_cls, loss_bbox, loss_centerness: focal loss, IoU loss (weighted by the centerness
            target), sigmoid cross-entropy.
        norm_cfg, conv_cfg: the towers' norm (GN, 32 groups; None: none, the convs then have a
            bias) and conv.
        train_cfg: the detector's ``train_cfg.rpn``: unused, FCOS assigns points by location and
            scale (MMDetection's configs keep the anchor RPN's assigner there).
        test_cfg: ``nms_pre``, ``score_thr``, ``min_bbox_size``, ``nms``, ``max_per_img``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        feat_channels: int = 256,
        stacked_convs: int = 4,
        strides: tuple[int, ...] = (4, 8, 16, 32, 64),
        regress_ranges: tuple[tuple[float, float], ...] = ((-1, 64), (64, 128), (128, 256), (256, 512), (512, INF)),
        center_sampling: bool = False,
        center_sample_radius: float = 1.5,
        norm_on_bbox: bool = False,
        centerness_on_reg: bool = False,
        conv_bias: bool | str = "auto",
        loss_cls: dict | None = None,
        loss_bbox: dict | None = None,
        loss_centerness: dict | None = None,
        bbox_coder: dict | None = None,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = GN_32,
        train_cfg: dict | None = None,
        test_cfg: dict | None = None,
        init_cfg: dict | None = None,
        **kwargs,
    ) -> None:
        check_extra_options(type(self).__name__, kwargs, dict(dcn_on_last_conv=False, use_sigmoid_cls=True))
        super().__init__(
            init_cfg
            or dict(
                type="Normal",
                layer="Conv2d",
                std=0.01,
                override=dict(type="Normal", name="conv_cls", std=0.01, bias_prob=0.01),
            )
        )
        if len(regress_ranges) != len(strides):
            raise ValueError(f"FCOSHead: {len(regress_ranges)} regress_ranges for {len(strides)} strides")
        self.num_classes, self.cls_out_channels = num_classes, num_classes
        self.strides, self.regress_ranges = list(strides), [tuple(r) for r in regress_ranges]
        self.center_sampling, self.center_sample_radius = center_sampling, center_sample_radius
        self.norm_on_bbox, self.centerness_on_reg = norm_on_bbox, centerness_on_reg
        self.prior_generator = TASK_UTILS.build(dict(type="MlvlPointGenerator", strides=self.strides))
        self.bbox_coder = TASK_UTILS.build(bbox_coder or dict(type="DistancePointBBoxCoder"))
        self.loss_cls = MODELS.build(loss_cls or dict(type="FocalLoss", use_sigmoid=True, gamma=2.0, alpha=0.25))
        self.loss_bbox = MODELS.build(loss_bbox or dict(type="IoULoss", loss_weight=1.0))
        self.loss_centerness = MODELS.build(loss_centerness or dict(type="CrossEntropyLoss", use_sigmoid=True))
        if train_cfg and {"assigner", "sampler"} & set(train_cfg):
            warnings.warn(
                "FCOSHead: train_cfg.rpn's assigner and sampler are not used (FCOS assigns points itself)", stacklevel=2
            )
        self.train_cfg = ConfigDict(train_cfg) if train_cfg else None
        self.test_cfg = ConfigDict(test_cfg) if test_cfg else None
        check_block_keys("FCOSHead test_cfg (test_cfg.rpn)", self.test_cfg, TEST_KEYS)
        check_nms_cfg("FCOSHead test_cfg (test_cfg.rpn)", (self.test_cfg or {}).get("nms"))
        self._init_layers(in_channels, feat_channels, stacked_convs, conv_cfg, norm_cfg, conv_bias)

    def _init_layers(
        self,
        in_channels: int,
        feat_channels: int,
        stacked_convs: int,
        conv_cfg: dict | None,
        norm_cfg: dict | None,
        conv_bias: bool | str,
    ) -> None:
        """The two towers, the three predictors and the per-level scales."""
        bias = (norm_cfg is None) if conv_bias == "auto" else conv_bias
        for name in ("cls_convs", "reg_convs"):
            convs = [
                ConvModule(in_channels if i == 0 else feat_channels, feat_channels, 3, padding=1,
                           conv_cfg=conv_cfg, norm_cfg=norm_cfg, bias=bias)
                for i in range(stacked_convs)
            ]  # fmt: skip
            setattr(self, name, nn.ModuleList(convs))
        self.conv_cls = nn.Conv2d(feat_channels, self.num_classes, 3, padding=1)
        self.conv_reg = nn.Conv2d(feat_channels, 4, 3, padding=1)
        self.conv_centerness = nn.Conv2d(feat_channels, 1, 3, padding=1)
        self.scales = nn.ModuleList(Scale(1.0) for _ in self.strides)

    def forward(self, feats: tuple[Tensor, ...]) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
        """Per level: class logits ``(B, C, H, W)``, side distances ``(B, 4, H, W)`` (pixels;
        strides with ``norm_on_bbox`` in training) and centerness logits ``(B, 1, H, W)``."""
        outs: tuple[list[Tensor], list[Tensor], list[Tensor]] = ([], [], [])
        for x, scale, stride in zip(feats, self.scales, self.strides):
            cls_feat, reg_feat = x, x
            for layer in self.cls_convs:
                cls_feat = layer(cls_feat)
            for layer in self.reg_convs:
                reg_feat = layer(reg_feat)
            bbox_pred = scale(self.conv_reg(reg_feat)).float()
            if self.norm_on_bbox:
                bbox_pred = bbox_pred.clamp(min=0) * (1 if self.training else stride)
            else:
                bbox_pred = bbox_pred.exp()
            outs[0].append(self.conv_cls(cls_feat).float())
            outs[1].append(bbox_pred)
            outs[2].append(self.conv_centerness(reg_feat if self.centerness_on_reg else cls_feat).float())
        return outs

    # ------------------------------------------------------------------ training
    def loss_by_feat(
        self,
        cls_scores: list[Tensor],
        bbox_preds: list[Tensor],
        centernesses: list[Tensor],
        batch_gt_instances: list[InstanceData],
        batch_img_metas: list[dict],
        batch_gt_instances_ignore: list | None = None,
    ) -> dict[str, Tensor]:
        """``loss_cls`` (over all points, per positive), ``loss_bbox`` (IoU of the positives'
        boxes weighted by their centerness targets) and ``loss_centerness``."""
        sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        points = self.prior_generator.grid_priors(sizes, bbox_preds[0].dtype, bbox_preds[0].device)
        labels, targets = self.get_targets(points, batch_gt_instances)
        num_imgs = cls_scores[0].shape[0]
        flat_cls = torch.cat([c.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels) for c in cls_scores])
        flat_reg = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        flat_ctr = torch.cat([c.permute(0, 2, 3, 1).reshape(-1) for c in centernesses])
        flat_labels, flat_targets = torch.cat(labels), torch.cat(targets)
        flat_points = torch.cat([p.repeat(num_imgs, 1) for p in points])
        pos = ((flat_labels >= 0) & (flat_labels < self.num_classes)).nonzero().reshape(-1)
        num_pos = max(float(len(pos)), 1.0)
        loss_cls = self.loss_cls(flat_cls, flat_labels, avg_factor=num_pos)
        pos_reg, pos_ctr, pos_targets = flat_reg[pos], flat_ctr[pos], flat_targets[pos]
        ctr_targets = self.centerness_target(pos_targets)
        if len(pos) == 0:
            return dict(loss_cls=loss_cls, loss_bbox=pos_reg.sum(), loss_centerness=pos_ctr.sum())
        pos_points = flat_points[pos]
        loss_bbox = self.loss_bbox(
            self.bbox_coder.decode(pos_points, pos_reg),
            self.bbox_coder.decode(pos_points, pos_targets),
            weight=ctr_targets,
            avg_factor=max(float(ctr_targets.sum().detach()), 1e-6),
        )
        loss_ctr = self.loss_centerness(pos_ctr, ctr_targets, avg_factor=num_pos)
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_centerness=loss_ctr)

    def get_targets(
        self, points: list[Tensor], batch_gt_instances: list[InstanceData]
    ) -> tuple[list[Tensor], list[Tensor]]:
        """Per level, every image's point labels ``(B * H * W,)`` (``num_classes``: background)
        and side distances ``(B * H * W, 4)`` (in strides with ``norm_on_bbox``)."""
        ranges = torch.cat([p.new_tensor(r)[None].expand(len(p), 2) for p, r in zip(points, self.regress_ranges)])
        counts = [len(p) for p in points]
        per_image = [self._targets_single(gt, torch.cat(points), ranges, counts) for gt in batch_gt_instances]
        labels = [torch.cat([lab.split(counts)[lvl] for lab, _ in per_image]) for lvl in range(len(points))]
        targets = [torch.cat([t.split(counts)[lvl] for _, t in per_image]) for lvl in range(len(points))]
        if self.norm_on_bbox:
            targets = [t / s for t, s in zip(targets, self.strides)]
        return labels, targets

    def _targets_single(
        self, gt: InstanceData, points: Tensor, ranges: Tensor, counts: list[int]
    ) -> tuple[Tensor, Tensor]:
        """Each point's label and distances to the smallest object whose box (or centre region)
        holds it and whose largest side distance is in the point's level's range."""
        n, boxes, gt_labels = len(points), gt.bboxes, gt.labels
        if len(boxes) == 0:
            return gt_labels.new_full((n,), self.num_classes), boxes.new_zeros((n, 4))
        areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))[None].repeat(n, 1)
        boxes = boxes[None].expand(n, len(boxes), 4)
        xs, ys = points[:, 0, None], points[:, 1, None]
        dist = torch.stack([xs - boxes[..., 0], ys - boxes[..., 1], boxes[..., 2] - xs, boxes[..., 3] - ys], -1)
        if self.center_sampling:
            inside = self._in_centre_region(boxes, xs, ys, counts).min(-1)[0] > 0
        else:
            inside = dist.min(-1)[0] > 0
        largest = dist.max(-1)[0]
        in_range = (largest >= ranges[:, 0, None]) & (largest <= ranges[:, 1, None])
        areas[~inside] = INF
        areas[~in_range] = INF
        min_area, which = areas.min(dim=1)
        labels = gt_labels[which]
        labels[min_area == INF] = self.num_classes
        return labels, dist[torch.arange(n, device=dist.device), which]

    def _in_centre_region(self, boxes: Tensor, xs: Tensor, ys: Tensor, counts: list[int]) -> Tensor:
        """Distances of the points to each object's centre region: ``radius * stride`` around the
        box centre, clipped to the box."""
        radius = torch.cat([xs.new_full((c,), s * self.center_sample_radius) for c, s in zip(counts, self.strides)])
        cx, cy = (boxes[..., 0] + boxes[..., 2]) / 2, (boxes[..., 1] + boxes[..., 3]) / 2
        r = radius[:, None]
        x1, y1 = torch.maximum(cx - r, boxes[..., 0]), torch.maximum(cy - r, boxes[..., 1])
        x2, y2 = torch.minimum(cx + r, boxes[..., 2]), torch.minimum(cy + r, boxes[..., 3])
        return torch.stack([xs - x1, ys - y1, x2 - xs, y2 - ys], -1)

    @staticmethod
    def centerness_target(pos_bbox_targets: Tensor) -> Tensor:
        """``sqrt(min(l, r) / max(l, r) * min(t, b) / max(t, b))`` of ``(P, 4)`` distances."""
        if len(pos_bbox_targets) == 0:
            return pos_bbox_targets[:, 0]
        lr, tb = pos_bbox_targets[:, [0, 2]], pos_bbox_targets[:, [1, 3]]
        return torch.sqrt((lr.min(-1)[0] / lr.max(-1)[0]) * (tb.min(-1)[0] / tb.max(-1)[0]))

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def predict_by_feat(
        self,
        cls_scores: list[Tensor],
        bbox_preds: list[Tensor],
        score_factors: list[Tensor] | None = None,
        batch_img_metas: list[dict] | None = None,
        cfg: dict | None = None,
        rescale: bool = False,
        with_nms: bool = True,
    ) -> list[InstanceData]:
        """Per image ``bboxes (K, 4)`` xyxy input-image pixels (original with ``rescale``),
        ``scores`` (class score times centerness) and ``labels`` (MMDetection's signature)."""
        if batch_img_metas is None:
            raise ValueError("FCOSHead.predict_by_feat needs batch_img_metas (each image's img_shape)")
        cfg = ConfigDict(cfg) if cfg is not None else self.test_cfg
        sizes = [tuple(c.shape[-2:]) for c in cls_scores]
        points = self.prior_generator.grid_priors(sizes, bbox_preds[0].dtype, bbox_preds[0].device)
        results = []
        for i, meta in enumerate(batch_img_metas):
            levels = [
                (
                    c[i].permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid(),
                    b[i].permute(1, 2, 0).reshape(-1, 4),
                    None if score_factors is None else score_factors[lvl][i].reshape(-1).sigmoid(),
                    p,
                )
                for lvl, (c, b, p) in enumerate(zip(cls_scores, bbox_preds, points))
            ]
            results.append(self._predict_single(levels, meta, cfg, rescale, with_nms))
        return results

    def _predict_single(self, levels: list, meta: dict, cfg: ConfigDict, rescale: bool, with_nms: bool) -> InstanceData:
        nms_pre, thr = cfg.get("nms_pre", -1), cfg.get("score_thr", 0)
        dist_lvls, point_lvls, score_lvls, label_lvls, factor_lvls = [], [], [], [], []
        for level_scores, dist, factor, points in levels:  # each level's top nms_pre over score_thr
            valid = torch.nonzero(level_scores > thr)
            top, order = level_scores[level_scores > thr].sort(descending=True)
            rows, classes = valid[order[:nms_pre] if nms_pre > 0 else order].unbind(dim=1)
            dist_lvls.append(dist[rows])
            point_lvls.append(points[rows])
            score_lvls.append(top[: len(rows)])
            label_lvls.append(classes)
            if factor is not None:
                factor_lvls.append(factor[rows])
        boxes = self.bbox_coder.decode(torch.cat(point_lvls), torch.cat(dist_lvls), max_shape=meta["img_shape"])
        scores, labels = torch.cat(score_lvls), torch.cat(label_lvls)
        if rescale:
            boxes = scale_boxes(boxes, [1 / s for s in meta["scale_factor"]])
        if factor_lvls:
            scores = scores * torch.cat(factor_lvls)
        keep = larger_than(boxes, cfg.get("min_bbox_size", -1))
        boxes, scores, labels = boxes[keep], scores[keep], labels[keep]
        if with_nms and len(boxes) > 0:
            dets, keep = batched_nms(boxes, scores, labels, cfg["nms"])
            dets, keep = dets[: cfg["max_per_img"]], keep[: cfg["max_per_img"]]
            boxes, scores, labels = dets[:, :4], dets[:, 4], labels[keep]
        return InstanceData(bboxes=boxes, scores=scores, labels=labels)
