"""Anchors for each feature level: a base set per stride, shifted over the grid."""

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from mmcascade.registry import TASK_UTILS


@TASK_UTILS.register_module()
class AnchorGenerator:
    """Base anchors of ``base_size * scale`` side per level, reshaped by aspect ratios, shifted
    over the feature grid (MMDetection's ``AnchorGenerator``).

    An anchor of ratio ``r = h / w`` has ``h = base * sqrt(r) * scale`` and
    ``w = base / sqrt(r) * scale``, centred at ``(x * stride_w, y * stride_h)`` plus the level's
    centre (``center_offset * base`` on both axes, or ``centers[level]``). Anchors at one location
    are ordered ratio-major (``scale_major``), and locations row-major, matching the ``(H, W, A)``
    layout of the RPN outputs.

    Args:
        strides: per level, an int or ``(stride_w, stride_h)``.
        ratios: aspect ratios ``h / w``.
        scales: anchor scales; or give ``octave_base_scale`` and ``scales_per_octave`` for
            ``octave_base_scale * 2 ** (i / scales_per_octave)``, ``i < scales_per_octave``.
        base_sizes: per level (default: the smaller stride of each level).
        centers: per level, the ``(x, y)`` centre of the base anchors (default: from
            ``center_offset``).
    """

    def __init__(
        self,
        strides: Sequence[int | Sequence[int]],
        ratios: Sequence[float],
        scales: Sequence[float] | None = None,
        base_sizes: Sequence[int] | None = None,
        scale_major: bool = True,
        octave_base_scale: float | None = None,
        scales_per_octave: int | None = None,
        centers: Sequence[Sequence[float]] | None = None,
        center_offset: float = 0.0,
    ) -> None:
        self.strides = [_pair(s) for s in strides]
        if centers is not None and len(centers) != len(self.strides):
            raise ValueError(f"AnchorGenerator: {len(centers)} centers for {len(self.strides)} strides")
        if centers is not None and center_offset != 0:
            raise ValueError("AnchorGenerator: give centers or center_offset, not both")
        if not 0 <= center_offset <= 1:
            raise ValueError(f"AnchorGenerator: center_offset must be in [0, 1], got {center_offset}")
        if (scales is not None) == (octave_base_scale is not None and scales_per_octave is not None):
            raise ValueError("AnchorGenerator: give scales, or octave_base_scale with scales_per_octave (one)")
        if scales is None:
            steps = torch.arange(scales_per_octave, dtype=torch.float32) / scales_per_octave
            self.scales = octave_base_scale * 2**steps
        else:
            self.scales = torch.tensor(list(scales), dtype=torch.float32)
        self.ratios = torch.tensor(list(ratios), dtype=torch.float32)
        self.base_sizes = list(base_sizes) if base_sizes else [min(s) for s in self.strides]
        if len(self.base_sizes) != len(self.strides):
            raise ValueError(f"AnchorGenerator: {len(self.base_sizes)} base_sizes for {len(self.strides)} strides")
        self.octave_base_scale = octave_base_scale
        self.scales_per_octave = scales_per_octave
        self.scale_major = scale_major
        self.centers = [tuple(c) for c in centers] if centers is not None else None
        self.center_offset = center_offset
        self.base_anchors = [
            self._base_anchors(b, self.centers[i] if self.centers else None) for i, b in enumerate(self.base_sizes)
        ]

    @property
    def num_levels(self) -> int:
        return len(self.strides)

    @property
    def num_base_priors(self) -> list[int]:
        return [a.shape[0] for a in self.base_anchors]

    def _base_anchors(self, base_size: int, center: tuple[float, float] | None) -> Tensor:
        cx, cy = center if center is not None else (self.center_offset * base_size,) * 2
        h_ratios = torch.sqrt(self.ratios)
        w_ratios = 1 / h_ratios
        if self.scale_major:
            ws = (base_size * w_ratios[:, None] * self.scales[None, :]).reshape(-1)
            hs = (base_size * h_ratios[:, None] * self.scales[None, :]).reshape(-1)
        else:
            ws = (base_size * self.scales[:, None] * w_ratios[None, :]).reshape(-1)
            hs = (base_size * self.scales[:, None] * h_ratios[None, :]).reshape(-1)
        return torch.stack([cx - 0.5 * ws, cy - 0.5 * hs, cx + 0.5 * ws, cy + 0.5 * hs], dim=-1)

    def grid_priors(self, featmap_sizes: Sequence[tuple[int, int]], device: str | torch.device = "cpu") -> list[Tensor]:
        """Anchors of every level, each ``(H * W * A, 4)`` float32 xyxy pixels."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f"{len(featmap_sizes)} feature maps for {self.num_levels} anchor levels")
        out = []
        for base, (stride_w, stride_h), (h, w) in zip(self.base_anchors, self.strides, featmap_sizes):
            xs = torch.arange(0, w, device=device, dtype=torch.float32) * stride_w
            ys = torch.arange(0, h, device=device, dtype=torch.float32) * stride_h
            yy, xx = torch.meshgrid(ys, xs, indexing="ij")
            shifts = torch.stack([xx, yy, xx, yy], dim=-1).reshape(-1, 4)
            out.append((base.to(device)[None] + shifts[:, None]).reshape(-1, 4))
        return out

    def valid_flags(
        self, featmap_sizes: Sequence[tuple[int, int]], pad_shape: tuple[int, int], device: str | torch.device = "cpu"
    ) -> list[Tensor]:
        """Per level, ``(H * W * A,)`` bool: the anchor's grid cell lies inside the padded input
        ``pad_shape = (h, w)`` (cells beyond ``ceil(h / stride_h)`` rows or ``ceil(w / stride_w)``
        columns do not)."""
        out = []
        for (stride_w, stride_h), (h, w), num in zip(self.strides, featmap_sizes, self.num_base_priors):
            valid_h = min(math.ceil(pad_shape[0] / stride_h), h)
            valid_w = min(math.ceil(pad_shape[1] / stride_w), w)
            rows = torch.arange(h, device=device) < valid_h
            cols = torch.arange(w, device=device) < valid_w
            cell = (rows[:, None] & cols[None, :]).reshape(-1)
            out.append(cell[:, None].expand(-1, num).reshape(-1))
        return out


def _pair(stride: int | Sequence[int]) -> tuple[int, int]:
    """``(stride_w, stride_h)`` of an int or a pair."""
    if isinstance(stride, (tuple, list)):
        if len(stride) != 2:
            raise ValueError(f"AnchorGenerator: a stride is an int or (stride_w, stride_h), got {stride!r}")
        return int(stride[0]), int(stride[1])
    return int(stride), int(stride)


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
