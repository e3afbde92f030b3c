"""The graph forms of the ops, which the dispatchers (:mod:`~mmcascade.ops.nms`,
:mod:`~mmcascade.ops.roi_align_layer`, :mod:`~mmcascade.ops.traceable`) call while
``torch.onnx.export`` traces the model: RoIAlign as ONNX
``RoiAlign`` (opset 16: ``coordinate_transformation_mode='half_pixel'`` is mmcv's
``aligned=True``), NMS as ONNX ``NonMaxSuppression`` and top-k with a shape-dependent ``k``.

Each op is a :class:`torch.autograd.Function` whose ``forward`` runs mmcascade's own
implementation (so the trace sees real values and shapes) and whose ``symbolic`` writes the
standard ONNX operator: the file needs no custom-op library in ONNX Runtime, OpenVINO or TensorRT.
Outside an export none of this runs.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .nms_kernel import nms_torch
from .roi_align import roi_align_torch

MIN_OPSET = 16  # RoiAlign's coordinate_transformation_mode
_LOWEST = float(torch.finfo(torch.float32).min)


def _const(g, value, dtype: torch.dtype):
    return g.op("Constant", value_t=torch.tensor([value], dtype=dtype))


class _OnnxRoIAlign(torch.autograd.Function):
    @staticmethod
    def forward(ctx, feat, boxes, batch_inds, out_h, out_w, spatial_scale, sampling_ratio, pool_mode, aligned):
        rois = torch.cat([batch_inds[:, None].to(boxes.dtype), boxes], dim=1)
        return roi_align_torch(feat, rois, (out_h, out_w), spatial_scale, sampling_ratio, pool_mode, aligned)

    @staticmethod
    def symbolic(g, feat, boxes, batch_inds, out_h, out_w, spatial_scale, sampling_ratio, pool_mode, aligned):
        return g.op(
            "RoiAlign",
            feat,
            boxes,
            batch_inds,
            coordinate_transformation_mode_s="half_pixel" if aligned else "output_half_pixel",
            mode_s=pool_mode,
            output_height_i=out_h,
            output_width_i=out_w,
            sampling_ratio_i=sampling_ratio,
            spatial_scale_f=spatial_scale,
        )


def roi_align_onnx(
    feat: Tensor,
    rois: Tensor,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    pool_mode: str,
    aligned: bool,
) -> Tensor:
    """RoIAlign of ``rois (K, 5)`` (batch index, xyxy) on ``feat (B, C, H, W)`` as one ONNX
    ``RoiAlign`` node: ``(K, C, out_h, out_w)``."""
    return _OnnxRoIAlign.apply(
        feat.contiguous(),
        rois[:, 1:].contiguous(),
        rois[:, 0].long(),
        int(output_size[0]),
        int(output_size[1]),
        float(spatial_scale),
        int(sampling_ratio),
        pool_mode,
        bool(aligned),
    )


class _OnnxNMS(torch.autograd.Function):
    @staticmethod
    def forward(ctx, boxes, scores, iou_threshold, score_threshold):
        rows = []
        for group in range(scores.shape[1]):
            cand = torch.nonzero(scores[0, group] > score_threshold).squeeze(1)
            keep = cand[nms_torch(boxes[0, cand], scores[0, group, cand], iou_threshold)]
            rows.append(torch.stack([torch.zeros_like(keep), torch.full_like(keep, group), keep], dim=1))
        return torch.cat(rows) if rows else boxes.new_zeros((0, 3), dtype=torch.long)

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold, score_threshold):
        return g.op(
            "NonMaxSuppression",
            boxes,
            scores,
            _const(g, 2**31 - 1, torch.long),
            _const(g, iou_threshold, torch.float32),
            _const(g, score_threshold, torch.float32),
            center_point_box_i=0,
        )


def grouped_nms_onnx(
    boxes: Tensor,
    scores: Tensor,
    idxs: Tensor,
    num_groups: Tensor | int,
    iou_threshold: float,
    score_threshold: float = 0.0,
    class_agnostic: bool = False,
    split_thr: int = 10000,
) -> Tensor:
    """:func:`~mmcascade.ops.batched_nms`'s selection as one ``NonMaxSuppression`` node.

    The same boxes as the eager function: groups are the NMS classes (a box is a candidate of its
    own group only); below ``split_thr`` boxes the boxes are also shifted by
    ``group * (max coordinate + 1)`` as there, so that IoUs round the same way.

    Args:
        boxes: ``(N, 4)`` float32 xyxy. scores: ``(N,)``. idxs: ``(N,)`` int64 in ``[0, num_groups)``
            (``num_groups``: a 0-d tensor the graph computes, or an int).

    Returns:
        ``(K,)`` int64 indices into the input, by descending score (ties: lower index first).
    """
    if class_agnostic:
        idxs, num_groups = torch.zeros_like(idxs), 1
        boxes_for_nms = boxes
    else:
        count = torch._shape_as_tensor(boxes)[0]
        use_shift = (count < split_thr).to(boxes.dtype)
        # the largest coordinate (the lowest float added so that an empty input has one too)
        top = torch.nn.functional.pad(boxes.reshape(-1), (0, 1), value=_LOWEST).max()
        shift = idxs.to(boxes.dtype) * (top + 1.0) * use_shift
        boxes_for_nms = boxes + shift[:, None]
    member = idxs[None, :] == torch.arange(num_groups, device=idxs.device)[:, None]  # (G, N)
    threshold = float(score_threshold) if score_threshold > 0 else _LOWEST
    grouped = torch.where(member, scores[None, :], torch.full_like(scores[None, :], float("-inf")))
    selected = _OnnxNMS.apply(boxes_for_nms[None], grouped[None], float(iou_threshold), threshold)
    keep = selected[:, 2].sort()[0]  # ascending index (indices are unique: any sort agrees)
    return keep[descending_order(scores[keep])]


def descending_order(values: Tensor) -> Tensor:
    """Indices that sort 1-D ``values`` descending, equal values by index, without relying on a
    runtime's sort keeping ties in order (OpenVINO's ``TopK`` does not): sort once, number the
    runs of equal values, then sort by the unique key ``run * K + index``."""
    count = torch._shape_as_tensor(values)[0]  # recorded in the graph, not the traced size
    first = torch.sort(values, descending=True)[1]
    ranked = values[first]
    new_run = torch.cat([torch.ones_like(ranked[:1], dtype=torch.bool), ranked[1:] != ranked[:-1]])
    run = torch.cumsum(new_run.long(), dim=0) - 1
    return first[torch.sort(run * count + first)[1]]


def topk_at_most(values: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The largest ``min(k, len(values))`` of 1-D ``values``, with a ``k`` the graph computes
    from the input's shape."""
    count = torch._shape_as_tensor(values)[0]
    return torch.topk(values, torch.clamp(count, max=k))
