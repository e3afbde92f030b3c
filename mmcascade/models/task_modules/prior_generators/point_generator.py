"""Grid points of anchor-free heads (FCOS): one point per feature-map cell."""

from collections.abc import Sequence

import torch
from torch import Tensor

from mmcascade.registry import TASK_UTILS


@TASK_UTILS.register_module()
class MlvlPointGenerator:
    """Points ``((x + offset) * stride, (y + offset) * stride)`` of each level's cells.

    Args:
        strides: one stride per level (an int, or ``(stride_w, stride_h)``).
        offset: where in its cell a point sits (0.5: the centre).
    """

    def __init__(self, strides: Sequence[int | tuple[int, int]], offset: float = 0.5) -> None:
        self.strides = [s if isinstance(s, (tuple, list)) else (s, s) for s in strides]
        self.offset = offset

    @property
    def num_levels(self) -> int:
        return len(self.strides)

    @property
    def num_base_priors(self) -> list[int]:
        return [1] * self.num_levels

    def grid_priors(
        self,
        featmap_sizes: Sequence[tuple[int, int]],
        dtype: torch.dtype = torch.float32,
        device: str | torch.device = "cpu",
        with_stride: bool = False,
    ) -> list[Tensor]:
        """Per level ``(H * W, 2)`` points ``(x, y)`` in input-image pixels, row-major; with
        ``with_stride`` ``(H * W, 4)``: ``(x, y, stride_w, stride_h)``."""
        if len(featmap_sizes) != self.num_levels:
            raise ValueError(f"{len(featmap_sizes)} feature maps for {self.num_levels} point levels")
        out = []
        for (stride_w, stride_h), (h, w) in zip(self.strides, featmap_sizes):
            xs = (torch.arange(w, device=device) + self.offset) * stride_w
            ys = (torch.arange(h, device=device) + self.offset) * stride_h
            yy, xx = torch.meshgrid(ys.to(dtype), xs.to(dtype), indexing="ij")
            points = [xx.reshape(-1), yy.reshape(-1)]
            if with_stride:
                points += [xx.new_full((h * w,), stride_w), xx.new_full((h * w,), stride_h)]
            out.append(torch.stack(points, dim=-1))
        return out
