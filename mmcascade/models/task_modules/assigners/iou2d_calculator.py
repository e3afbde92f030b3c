"""``BboxOverlaps2D``: the IoU calculator MMDetection's assigners and configs name."""

from typing import Any

import torch
from torch import Tensor

from mmcascade.registry import TASK_UTILS
from mmcascade.structures import bbox_overlaps


def _box_tensor(boxes: Any) -> Tensor:
    """``(..., 4)`` boxes from a tensor, a box object with ``.tensor`` (MMDetection's
    ``HorizontalBoxes``), or ``(..., 5)`` boxes with a trailing score (dropped)."""
    boxes = boxes.tensor if hasattr(boxes, "tensor") and not isinstance(boxes, Tensor) else boxes
    if boxes.shape[-1] not in (0, 4, 5):
        raise ValueError(f"BboxOverlaps2D: boxes must be (..., 4) or (..., 5) with a score, got {tuple(boxes.shape)}")
    return boxes[..., :4] if boxes.shape[-1] == 5 else boxes


@TASK_UTILS.register_module()
class BboxOverlaps2D:
    """Overlaps of two sets of xyxy boxes (:func:`~mmcascade.structures.bbox_overlaps`).

    Args:
        scale: with ``dtype='fp16'``, boxes are divided by it before the cast (so large
            coordinates stay in half precision's range).
        dtype: ``None`` (compute in the boxes' dtype) or ``'fp16'`` (half precision, to save GPU
            memory with many boxes; on the CPU the result is returned as float32).
    """

    def __init__(self, scale: float = 1.0, dtype: str | None = None) -> None:
        if dtype not in (None, "fp16"):
            raise ValueError(f"BboxOverlaps2D: dtype must be None or 'fp16', got {dtype!r}")
        self.scale = scale
        self.dtype = dtype

    def __call__(self, bboxes1: Any, bboxes2: Any, mode: str = "iou", is_aligned: bool = False) -> Tensor:
        """``(M, N)`` overlaps (``(M,)`` when ``is_aligned``) in ``mode`` ``'iou'``, ``'iof'``,
        ``'ios'`` or ``'giou'``; see :func:`~mmcascade.structures.bbox_overlaps`."""
        boxes1, boxes2 = _box_tensor(bboxes1), _box_tensor(bboxes2)
        if self.dtype != "fp16":
            return bbox_overlaps(boxes1, boxes2, mode, is_aligned)
        overlaps = bbox_overlaps((boxes1 / self.scale).half(), (boxes2 / self.scale).half(), mode, is_aligned)
        return overlaps if overlaps.is_cuda else overlaps.to(torch.float32)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(scale={self.scale}, dtype={self.dtype})"
