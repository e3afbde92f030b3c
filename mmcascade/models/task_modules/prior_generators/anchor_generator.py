"""Anchors for each feature level: a base set per stride, shifted over the grid."""

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from mmcascade.registry import TASK_UTILS


@TASK_UTILS.register_module()
class AnchorGenerator:
    """Square-base anchors of ``stride * scale`` side, reshaped by aspect ratios.

    An anchor of ratio ``r = h / w`` has ``h = base * sqrt(r) * scale`` and
    ``w = base / sqrt(r) * scale``, centred at ``(x * stride, y * stride)`` (offset 0).
    Anchors at one location are ordered ratio-major (``scale_major``), and locations
    row-major, matching the ``(H, W, A)`` layout of the RPN outputs.
    """

    def __init__(
        self,
        strides: Sequence[int],
        ratios: Sequence[float],
        scales: Sequence[float] | None = None,
        base_sizes: Sequence[int] | None = None,
        scale_major: bool = True,
        center_offset: float = 0.0,
    ) -> None:
        self.strides = [int(s) if not isinstance(s, (tuple, list)) else int(s[0]) for s in strides]
        self.ratios = torch.tensor(list(ratios), dtype=torch.float32)
        self.scales = torch.tensor(list(scales or [8]), dtype=torch.float32)
        self.base_sizes = list(base_sizes) if base_sizes else list(self.strides)
        self.scale_major = scale_major
        self.center_offset = center_offset
        self.base_anchors = [self._base_anchors(b) for b in self.base_sizes]

    @property
    def num_levels(self) -> int:
        return len(self.strides)

    @property
    def num_base_priors(self) -> list[int]:
        return [a.shape[0] for a in self.base_anchors]

    def _base_anchors(self, base_size: int) -> Tensor:
        ctr = self.center_offset * base_size
        h_ratios = torch.sqrt(self.ratios)
        w_ratios = 1 / h_ratios
        if self.scale_major:
            ws = (base_size * w_ratios[:, None] * self.scales[None, :]).reshape(-1)
            hs = (base_size * h_ratios[:, None] * self.scales[None, :]).reshape(-1)
        else:
            ws = (base_size * self.scales[:, None] * w_ratios[None, :]).reshape(-1)
            hs = (base_size * self.scales[:, None] * h_ratios[None, :]).reshape(-1)
        return torch.stack([ctr - 0.5 * ws, ctr - 0.5 * hs, ctr + 0.5 * ws, ctr + 0.5 * hs], dim=-1)

    def grid_priors(self, featmap_sizes: Sequence[tuple[int, int]], device: str | torch.device = "cpu") -> list[Tensor]:
        """Anchors of every level, each ``(H * W * A, 4)`` float32 xyxy pixels."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f"{len(featmap_sizes)} feature maps for {self.num_levels} anchor levels")
        out = []
        for base, stride, (h, w) in zip(self.base_anchors, self.strides, featmap_sizes):
            xs = torch.arange(0, w, device=device, dtype=torch.float32) * stride
            ys = torch.arange(0, h, device=device, dtype=torch.float32) * stride
            yy, xx = torch.meshgrid(ys, xs, indexing="ij")
            shifts = torch.stack([xx, yy, xx, yy], dim=-1).reshape(-1, 4)
            out.append((base.to(device)[None] + shifts[:, None]).reshape(-1, 4))
        return out

    def valid_flags(
        self, featmap_sizes: Sequence[tuple[int, int]], pad_shape: tuple[int, int], device: str | torch.device = "cpu"
    ) -> list[Tensor]:
        """Per level, ``(H * W * A,)`` bool: the anchor's grid cell lies inside the padded input
        ``pad_shape = (h, w)`` (cells beyond ``ceil(h / stride)`` rows or columns do not)."""
        out = []
        for stride, (h, w), num in zip(self.strides, featmap_sizes, self.num_base_priors):
            valid_h = min(math.ceil(pad_shape[0] / stride), h)
            valid_w = min(math.ceil(pad_shape[1] / stride), w)
            rows = torch.arange(h, device=device) < valid_h
            cols = torch.arange(w, device=device) < valid_w
            cell = (rows[:, None] & cols[None, :]).reshape(-1)
            out.append(cell[:, None].expand(-1, num).reshape(-1))
        return out


def anchor_inside_flags(anchors: Tensor, valid: Tensor, img_shape: tuple[int, int], allowed_border: float) -> Tensor:
    """``(N,)`` bool: valid anchors that lie inside the image ``img_shape = (h, w)`` (input-image
    pixels, before padding) by at least ``-allowed_border`` pixels on every side; with a negative
    ``allowed_border`` every valid anchor counts (no border rule)."""
    if allowed_border < 0:
        return valid
    h, w = img_shape[:2]
    return (
        valid
        & (anchors[:, 0] >= -allowed_border)
        & (anchors[:, 1] >= -allowed_border)
        & (anchors[:, 2] < w + allowed_border)
        & (anchors[:, 3] < h + allowed_border)
    )
