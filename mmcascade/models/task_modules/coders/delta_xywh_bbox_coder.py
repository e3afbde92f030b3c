"""Registered wrapper of the pure delta coding functions."""

from collections.abc import Sequence

from torch import Tensor

from mmcascade.registry import TASK_UTILS
from mmcascade.structures.coder import DEFAULT_WH_RATIO_CLIP, ImageSize, decode_deltas, encode_deltas
from mmcascade.utils.options import check_extra_options


@TASK_UTILS.register_module()
class DeltaXYWHBBoxCoder:
    """``(dx, dy, dw, dh)`` coding with fixed means and stds (Cascade stages differ in stds)."""

    encode_size = 4

    def __init__(
        self,
        target_means: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
        target_stds: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
        clip_border: bool = True,
        wh_ratio_clip: float = DEFAULT_WH_RATIO_CLIP,
        **kwargs,
    ) -> None:
        check_extra_options(type(self).__name__, kwargs, dict(add_ctr_clamp=False, ctr_clamp=32, use_box_type=False))
        if len(target_means) != 4 or len(target_stds) != 4:
            raise ValueError("target_means and target_stds need four values each")
        if any(s <= 0 for s in target_stds):
            raise ValueError(f"target_stds must be positive, got {list(target_stds)}")
        self.means = tuple(float(m) for m in target_means)
        self.stds = tuple(float(s) for s in target_stds)
        self.clip_border = clip_border
        self.wh_ratio_clip = wh_ratio_clip

    def encode(self, proposals: Tensor, targets: Tensor) -> Tensor:
        """``(N, 4)`` deltas of ``targets`` relative to ``proposals``."""
        return encode_deltas(proposals, targets, self.means, self.stds)

    def decode(self, rois: Tensor, deltas: Tensor, max_shape: ImageSize | None = None) -> Tensor:
        """Boxes ``(N, 4k)`` from ``rois (N, 4)`` and ``deltas (N, 4k)``, clipped to ``max_shape``."""
        return decode_deltas(rois, deltas, self.means, self.stds, max_shape, self.wh_ratio_clip, self.clip_border)
