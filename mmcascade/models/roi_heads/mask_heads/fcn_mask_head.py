"""Mask head: four 3x3 convs, a 2x deconv, and a 1x1 conv to per-class mask logits."""

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.structures import BitmapMasks, PolygonMasks, clip_boxes
from mmcascade.utils.options import check_extra_options
from mmcascade.utils.typing_utils import OptConfigType

from ...task_modules import SamplingResult
from ..detections import to_original_frame, with_pasted_masks


@MODELS.register_module()
class FCNMaskHead(BaseModule):
    """``convs.{i}.conv`` (3x3, ReLU) -> ``upsample`` (2x2 deconv, ReLU) -> ``conv_logits`` (1x1).

    Args:
        num_convs, in_channels, conv_out_channels: the conv tower.
        conv_cfg, norm_cfg: the tower's conv type (``dict(type='ConvWS')``) and norm (GN).
        num_classes: mask channels (one per class unless ``class_agnostic``).
        loss_mask: ``dict(type='CrossEntropyLoss', use_mask=True)``.
    """

    def __init__(
        self,
        num_convs: int = 4,
        in_channels: int = 256,
        conv_out_channels: int = 256,
        num_classes: int = 80,
        class_agnostic: bool = False,
        norm_cfg: OptConfigType = None,
        conv_cfg: OptConfigType = None,
        loss_mask: OptConfigType = None,
        init_cfg: OptConfigType = None,
        **kwargs: Any,
    ) -> None:
        check_extra_options(
            type(self).__name__,
            kwargs,
            dict(
                roi_feat_size=14,
                conv_kernel_size=3,
                upsample_cfg=dict(type="deconv", scale_factor=2),
                predictor_cfg=dict(type="Conv"),
            ),
        )
        super().__init__(init_cfg)
        self.num_classes = num_classes
        self.class_agnostic = class_agnostic
        self.convs = nn.ModuleList(
            [
                ConvModule(
                    in_channels if i == 0 else conv_out_channels,
                    conv_out_channels,
                    3,
                    padding=1,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                )
                for i in range(num_convs)
            ]
        )
        upsample_in = conv_out_channels if num_convs > 0 else in_channels  # C4: on the 2048-d res5 features
        self.upsample = nn.ConvTranspose2d(upsample_in, conv_out_channels, 2, stride=2)
        self.conv_logits = nn.Conv2d(conv_out_channels, 1 if class_agnostic else num_classes, 1)
        self.loss_mask = MODELS.build(loss_mask or dict(type="CrossEntropyLoss", use_mask=True))

    def init_weights(self) -> None:
        super().init_weights()
        for m in (self.upsample, self.conv_logits):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.constant_(m.bias, 0)

    def forward(self, roi_feats: Tensor) -> Tensor:
        """``(K, C, 14, 14)`` -> logits ``(K, num_classes, 28, 28)`` float32 (also under autocast)."""
        x = roi_feats
        for conv in self.convs:
            x = conv(x)
        return self.conv_logits(F.relu(self.upsample(x))).float()

    @staticmethod
    def get_targets(
        sampling_results: list[SamplingResult], gt_masks: list[BitmapMasks | PolygonMasks], mask_size: int
    ) -> Tensor:
        """``(P, mask_size, mask_size)`` binary targets of all positives: each positive's box,
        clipped to its image's masks, cut from its ground-truth mask (bitmap or polygons)."""
        targets = [
            masks.crop_and_resize(
                clip_boxes(res.pos_priors, (masks.height, masks.width)), mask_size, res.pos_assigned_gt_inds
            )
            for res, masks in zip(sampling_results, gt_masks)
        ]
        return torch.cat(targets) if targets else torch.zeros((0, mask_size, mask_size))

    def loss(self, mask_preds: Tensor, targets: Tensor, labels: Tensor) -> Tensor:
        """Binary CE of each positive RoI's ``(28, 28)`` logits of its class; 0 without positives."""
        if mask_preds.shape[0] == 0:
            return mask_preds.sum()
        labels = torch.zeros_like(labels) if self.class_agnostic else labels
        return self.loss_mask(mask_preds, targets, labels)

    def select_probs(self, mask_probs: Tensor, labels: Tensor) -> Tensor:
        """``(N, C, h, w)`` -> the ``(N, h, w)`` channel of each detection's class."""
        if self.class_agnostic:
            return mask_probs[:, 0]
        return mask_probs[torch.arange(mask_probs.shape[0], device=mask_probs.device), labels]

    def predict_by_feat(
        self,
        mask_preds: tuple[Tensor, ...],
        results_list: list[InstanceData],
        batch_img_metas: list[dict[str, Any]],
        rcnn_test_cfg: OptConfigType,
        rescale: bool = False,
        activate_map: bool = False,
    ) -> list[InstanceData]:
        """Each image's detections with ``masks`` (MMDetection's signature).

        Args:
            mask_preds: per image ``(D_i, C, h, w)`` logits (probabilities with ``activate_map``).
            results_list: per image detections, ``bboxes`` in input-image pixels and ``labels``.
            batch_img_metas: per image ``img_shape``, ``ori_shape``, ``scale_factor``.
            rcnn_test_cfg: ``mask_thr_binary`` (0.5) and ``mask_format`` (``'auto'``).
            rescale: boxes and masks in the original image (else the resized input).
            activate_map: ``mask_preds`` are probabilities already (e.g. averaged over stages).

        Returns:
            per image ``bboxes``, ``scores``, ``labels`` and ``masks`` (``(D_i, H, W)`` bool, or
            :class:`CroppedMasks` by ``mask_format``).
        """
        cfg = rcnn_test_cfg or {}
        threshold, mask_format = cfg.get("mask_thr_binary", 0.5), cfg.get("mask_format", "auto")
        out = []
        for preds, det, meta in zip(mask_preds, results_list, batch_img_metas):
            probs = self.select_probs(preds if activate_map else preds.sigmoid(), det.labels)
            boxes = to_original_frame(det.bboxes, meta) if rescale else det.bboxes
            framed = InstanceData(bboxes=boxes, scores=det.scores, labels=det.labels)
            out.append(with_pasted_masks(framed, probs, meta, rescale, threshold, mask_format))
        return out
