"""The ``RoIAlign`` layer of the RoI extractors (``dict(type='RoIAlign', ...)``) and the
function it calls: mmcv's compiled kernel or :func:`~mmcascade.ops.roi_align.roi_align_torch`,
as :func:`~mmcascade.ops.backend.resolve_impl` decides for the tensor's device."""

from __future__ import annotations

import torch.nn as nn
from torch import Tensor

from .backend import check_impl, mmcv_ops, resolve_impl
from .onnx_symbolic import roi_align_onnx
from .roi_align import as_pair, roi_align_torch
from .tracing import is_exporting


def roi_align(
    feat: Tensor,
    rois: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = 0,
    pool_mode: str = "avg",
    aligned: bool = True,
    impl: str = "auto",
) -> Tensor:
    """RoIAlign through the implementation :func:`~mmcascade.ops.backend.resolve_impl` picks (an
    ONNX ``RoiAlign`` node while the model is exported)."""
    if is_exporting():
        if pool_mode != "avg":
            raise ValueError(
                f"RoIAlign pool_mode={pool_mode!r} cannot be exported: ONNX RoiAlign's 'max' mode "
                "takes the largest weighted tap, not mmcv's largest sample; use pool_mode='avg'"
            )
        return roi_align_onnx(feat, rois, as_pair(output_size), spatial_scale, sampling_ratio, pool_mode, aligned)
    if resolve_impl(impl, feat.device, "RoIAlign") == "mmcv":
        return mmcv_ops().roi_align(
            feat.contiguous(),
            rois.to(feat.dtype),
            as_pair(output_size),
            spatial_scale,
            sampling_ratio,
            pool_mode,
            aligned,
        )
    return roi_align_torch(feat, rois, output_size, spatial_scale, sampling_ratio, pool_mode, aligned)


class RoIAlign(nn.Module):
    """``dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True, impl='auto')``.

    The arguments are ``mmcv.ops.RoIAlign``'s, plus ``impl`` (``'auto'``, ``'mmcv'`` or ``'torch'``,
    see :mod:`mmcascade.ops.backend`). ``use_torchvision=True`` is refused: torchvision is not a
    dependency.
    """

    def __init__(
        self,
        output_size: int | tuple[int, int],
        spatial_scale: float = 1.0,
        sampling_ratio: int = 0,
        pool_mode: str = "avg",
        aligned: bool = True,
        use_torchvision: bool = False,
        impl: str = "auto",
    ) -> None:
        super().__init__()
        if use_torchvision:
            raise ValueError(
                "RoIAlign use_torchvision=True is not supported (torchvision is not a dependency); "
                "use impl='torch' or 'mmcv'"
            )
        if pool_mode not in ("avg", "max"):
            raise ValueError(f"RoIAlign pool_mode={pool_mode!r} is not 'avg' or 'max'")
        if int(sampling_ratio) < 0:
            raise ValueError(f"RoIAlign sampling_ratio={sampling_ratio} must be >= 0")
        check_impl("RoIAlign", impl)
        self.output_size = as_pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.pool_mode = pool_mode
        self.aligned = bool(aligned)
        self.impl = impl

    def forward(self, feat: Tensor, rois: Tensor) -> Tensor:
        """``feat (B, C, H, W)``, ``rois (K, 5)`` input-image pixels -> ``(K, C, out_h, out_w)``."""
        return roi_align(
            feat,
            rois,
            self.output_size,
            self.spatial_scale,
            self.sampling_ratio,
            self.pool_mode,
            self.aligned,
            self.impl,
        )

    def extra_repr(self) -> str:
        return (
            f"output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
            f"sampling_ratio={self.sampling_ratio}, pool_mode={self.pool_mode!r}, aligned={self.aligned}, "
            f"impl={self.impl!r}"
        )
