"""Boxes as distances from a point to their four sides (FCOS)."""

import torch
from torch import Tensor

from mmcascade.registry import TASK_UTILS
from mmcascade.structures import clip_boxes
from mmcascade.structures.coder import ImageSize


@TASK_UTILS.register_module()
class DistancePointBBoxCoder:
    """``(left, top, right, bottom)`` distances of a box from a point, xyxy pixels.

    Args:
        clip_border: clip decoded boxes to the image (``max_shape``).
    """

    encode_size = 4

    def __init__(self, clip_border: bool = True) -> None:
        self.clip_border = clip_border

    def encode(self, points: Tensor, gt_bboxes: Tensor, max_dis: float | None = None, eps: float = 0.1) -> Tensor:
        """``(N, 4)`` distances of ``gt_bboxes (N, 4)`` from ``points (N, 2)``; with ``max_dis``
        clamped to ``[0, max_dis - eps]``."""
        left, top = points[:, 0] - gt_bboxes[:, 0], points[:, 1] - gt_bboxes[:, 1]
        right, bottom = gt_bboxes[:, 2] - points[:, 0], gt_bboxes[:, 3] - points[:, 1]
        dist = torch.stack([left, top, right, bottom], -1)
        return dist if max_dis is None else dist.clamp(min=0, max=max_dis - eps)

    def decode(self, points: Tensor, pred_bboxes: Tensor, max_shape: ImageSize | None = None) -> Tensor:
        """Boxes ``(N, 4)`` xyxy from ``points (N, 2)`` and distances ``(N, 4)``, clipped to
        ``max_shape`` ``(h, w)`` when given and ``clip_border``."""
        x1, y1 = points[:, 0] - pred_bboxes[:, 0], points[:, 1] - pred_bboxes[:, 1]
        x2, y2 = points[:, 0] + pred_bboxes[:, 2], points[:, 1] + pred_bboxes[:, 3]
        boxes = torch.stack([x1, y1, x2, y2], -1)
        if max_shape is not None and self.clip_border:
            boxes = clip_boxes(boxes, (max_shape[0], max_shape[1]))
        return boxes
