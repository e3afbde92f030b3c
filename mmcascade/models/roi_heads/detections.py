"""The last steps of a detector's output, shared by the PyTorch model and the exported-graph
backends (:mod:`mmcascade.deploy`): frames (input image -> original image), empty results and
mask pasting by ``test_cfg.rcnn.mask_format``.

Frames: boxes are xyxy pixels of the network input (``img_shape``) until
:func:`to_original_frame` divides them by ``scale_factor`` (original image, ``ori_shape``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.structures import CroppedMasks, paste_masks, paste_masks_cropped, scale_boxes

MASK_FORMATS = ("auto", "bitmap", "cropped")
CROPPED_MASKS_ABOVE = 2048 * 2048
"""``mask_format='auto'`` returns :class:`~mmcascade.structures.CroppedMasks` for output images of
more pixels than this (N full-size bitmaps of a 10000x10000 image would take N x 100 MB)."""
MetaInfo = dict[str, Any]
"""An image's metainfo: ``img_shape``, ``ori_shape``, ``scale_factor`` (w, h), ``img_id``..."""


def empty_instances(
    ref: Tensor, with_mask: bool, mask_shape: tuple[int, int] = (0, 0), cropped: bool = False
) -> InstanceData:
    """No detections: ``bboxes (0, 4)``, ``scores (0,)``, ``labels (0,)`` and ``masks (0, H, W)``
    (a ``(0, H, W)`` bool tensor, or empty :class:`CroppedMasks` when ``cropped``)."""
    result = InstanceData()
    result.bboxes = ref.new_zeros((0, 4))
    result.scores = ref.new_zeros((0,))
    result.labels = torch.zeros((0,), dtype=torch.long, device=ref.device)
    if with_mask:
        if cropped:
            result.masks = CroppedMasks([], np.zeros((0, 2)), *mask_shape)
        else:
            result.masks = torch.zeros((0, *mask_shape), dtype=torch.bool, device=ref.device)
    return result


def output_shape(meta: MetaInfo, rescale: bool) -> tuple[int, int]:
    """``(H, W)`` of the frame detections are returned in: the original image when ``rescale``,
    else the network input without padding."""
    h, w = meta["ori_shape"][:2]
    if rescale:
        return int(h), int(w)
    w_scale, h_scale = meta["scale_factor"]
    return int(round(h * h_scale)), int(round(w * w_scale))


def to_original_frame(boxes_img: Tensor, meta: MetaInfo, by_reciprocal: bool = False) -> Tensor:
    """``(K, 4 M)`` boxes in input-image pixels divided by ``scale_factor`` (original image).
    ``scale_factor`` is ``(w, h)`` floats, or a ``(2,)`` tensor in an exported graph.
    ``by_reciprocal`` multiplies by ``1 / scale_factor`` (computed in double) instead, as
    MMDetection's box head rescales (its mask head divides): the two round differently."""
    if by_reciprocal and not isinstance(meta["scale_factor"], Tensor):
        w_scale, h_scale = meta["scale_factor"]
        return scale_boxes(boxes_img, (1 / w_scale, 1 / h_scale))
    factor = torch.as_tensor(meta["scale_factor"], dtype=boxes_img.dtype, device=boxes_img.device)
    return boxes_img / factor.repeat(boxes_img.shape[1] // 2)


def use_cropped_masks(shape: tuple[int, int], mask_format: str) -> bool:
    """Whether masks of an output image of ``shape (H, W)`` are returned as
    :class:`~mmcascade.structures.CroppedMasks` (``test_cfg.rcnn.mask_format``)."""
    if mask_format not in MASK_FORMATS:
        raise ValueError(f"mask_format must be one of {MASK_FORMATS}, got {mask_format!r}")
    if mask_format == "auto":
        return shape[0] * shape[1] > CROPPED_MASKS_ABOVE
    return mask_format == "cropped"


def with_pasted_masks(
    det: InstanceData, mask_probs: Tensor, meta: MetaInfo, rescale: bool, threshold: float, mask_format: str
) -> InstanceData:
    """``det`` (``bboxes`` already in the output frame) with ``masks``: each detection's
    ``(h, w)`` probabilities of ``mask_probs (D, h, w)`` pasted into its box in the output frame
    (:func:`output_shape`) and thresholded at ``threshold``."""
    shape = output_shape(meta, rescale)
    cropped = use_cropped_masks(shape, mask_format)
    if len(det) == 0:
        return empty_instances(mask_probs, True, shape, cropped)
    result = InstanceData(bboxes=det.bboxes, scores=det.scores, labels=det.labels)
    paste = paste_masks_cropped if cropped else paste_masks
    result.masks = paste(mask_probs, det.bboxes, shape, threshold)
    return result
