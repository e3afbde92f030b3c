"""Pool each RoI from the one FPN level that suits its scale."""

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.ops import RoIAlign, mmcv_has_ops_for, mmcv_ops, pool_by_level, resolve_impl
from mmcascade.ops.traceable import PoolFn
from mmcascade.registry import MODELS
from mmcascade.utils.typing_utils import ConfigType, OptConfigType

# mmcv's RoI layers with CUDA kernels only (the dpool / mdpool rows of MMDetection's DCN configs)
CUDA_ONLY = ("DeformRoIPoolPack", "ModulatedDeformRoIPoolPack", "DeformRoIPool")


def map_roi_levels(rois: Tensor, num_levels: int, finest_scale: int = 56) -> Tensor:
    """FPN level of each RoI: ``floor(log2(sqrt(w * h) / finest_scale + 1e-6))`` clamped.

    Args:
        rois: ``(K, 5)`` (batch_idx, x1, y1, x2, y2).

    Returns:
        ``(K,)`` int64 in ``[0, num_levels - 1]``: scale < 112 -> 0, < 224 -> 1, < 448 -> 2, else 3.
    """
    scale = torch.sqrt((rois[:, 3] - rois[:, 1]) * (rois[:, 4] - rois[:, 2]))
    levels = torch.floor(torch.log2(scale / finest_scale + 1e-6))
    return levels.nan_to_num(0).clamp(min=0, max=num_levels - 1).long()


@MODELS.register_module()
class SingleRoIExtractor(BaseModule):
    """RoIAlign on the level chosen by :func:`map_roi_levels`.

    Args:
        roi_layer: e.g. ``dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True)``;
            ``type='RoIAlign'`` is :class:`mmcascade.ops.RoIAlign` (its ``impl`` picks mmcv's kernel or
            the torch one, see :mod:`mmcascade.ops.backend`); any other type names an ``mmcv.ops`` layer.
        out_channels: channels of the features.
        featmap_strides: strides of the levels used (the first ``len`` FPN outputs).
        finest_scale: RoI scale mapped to the finest level's upper bound / 2.
    """

    def __init__(
        self,
        roi_layer: ConfigType,
        out_channels: int,
        featmap_strides: list[int],
        finest_scale: int = 56,
        init_cfg: OptConfigType = None,
    ) -> None:
        super().__init__(init_cfg)
        cfg = dict(roi_layer)
        layer_cls = self._layer_class(cfg.pop("type"))
        self.roi_layers = nn.ModuleList([layer_cls(spatial_scale=1.0 / s, **cfg) for s in featmap_strides])
        self.out_channels = out_channels
        self.featmap_strides = list(featmap_strides)
        self.finest_scale = finest_scale

    @staticmethod
    def _layer_class(name: str) -> type:
        if name == "RoIAlign":
            return RoIAlign
        if name in CUDA_ONLY and not mmcv_has_ops_for("cuda"):
            raise ValueError(
                f"roi_layer type={name!r}: mmcv has deformable RoI pooling only for CUDA, and this mmcv has no "
                "CUDA kernels; run the config on a GPU with mmcv built for it, or use "
                "dict(type='RoIAlign', output_size=7, sampling_ratio=0)"
            )
        ops = mmcv_ops()
        if ops is None or not hasattr(ops, name):
            raise ValueError(
                f"roi_layer type={name!r}: only 'RoIAlign' is built in; other layers come from "
                "mmcv.ops"
                + (", which this mmcv build lacks (no compiled ops)" if ops is None else f", which has no {name!r}")
            )
        return getattr(ops, name)

    def pooling_layout(self, feats: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        """``feats`` in the memory layout this extractor pools fastest from: NHWC
        (``channels_last``) when its RoIAlign runs the torch implementation on their device (each
        level then pools without a copy, in every stage), else unchanged. A head calls this once
        per forward and passes the result to all its stages' extractors."""
        layer = self.roi_layers[0]
        if (
            not isinstance(layer, RoIAlign)
            or feats[0].dim() != 4
            or resolve_impl(layer.impl, feats[0].device, "RoIAlign") != "torch"
        ):
            return feats
        used = tuple(f.contiguous(memory_format=torch.channels_last) for f in feats[: self.num_inputs])
        return used + tuple(feats[self.num_inputs :])

    @property
    def num_inputs(self) -> int:
        return len(self.featmap_strides)

    @property
    def output_size(self) -> tuple[int, int]:
        size = self.roi_layers[0].output_size
        return tuple(size) if isinstance(size, (tuple, list)) else (size, size)

    @staticmethod
    def roi_rescale(rois: Tensor, scale_factor: float) -> Tensor:
        """``rois (K, 5)`` with each box's width and height times ``scale_factor`` about its centre."""
        cx, cy = (rois[:, 1] + rois[:, 3]) * 0.5, (rois[:, 2] + rois[:, 4]) * 0.5
        half_w = (rois[:, 3] - rois[:, 1]) * scale_factor * 0.5
        half_h = (rois[:, 4] - rois[:, 2]) * scale_factor * 0.5
        return torch.stack((rois[:, 0], cx - half_w, cy - half_h, cx + half_w, cy + half_h), dim=-1)

    def forward(self, feats: tuple[Tensor, ...], rois: Tensor, roi_scale_factor: float | None = None) -> Tensor:
        """``rois (K, 5)`` -> features ``(K, C, out, out)``; with ``roi_scale_factor`` each RoI is
        pooled from a box that much larger about its centre, on the level of its own size (the
        Double-Head regression branch's context).

        While gradients are recorded, a level with no RoIs still adds ``0 * sum(feature)`` so
        every level stays in the autograd graph, which distributed training needs (no unused
        parameters). Features are passed in their own memory layout: the torch RoIAlign reads
        ``channels_last`` maps without a copy, mmcv's kernel makes them contiguous itself.
        """
        feats = feats[: self.num_inputs]
        levels = map_roi_levels(rois, self.num_inputs, self.finest_scale)
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        # Written in the layout the torch RoIAlign writes (NHWC) so that the row copies are contiguous.
        layout = (
            torch.channels_last
            if feats[0].is_contiguous(memory_format=torch.channels_last)
            else torch.contiguous_format
        )
        shape = (rois.shape[0], self.out_channels, *self.output_size)
        out = torch.empty(shape, dtype=feats[0].dtype, device=feats[0].device, memory_format=layout)
        pooled, unused = pool_by_level(self._pool_level(feats), rois, levels, self.num_inputs, out)
        return self._with_unused(pooled, [feats[i] for i in unused])

    def _pool_level(self, feats: tuple[Tensor, ...]) -> PoolFn:
        """Pools a level's RoIs from ``feats`` with that level's layer."""

        def pool(level: int, rois: Tensor) -> Tensor:
            layer, feat = self.roi_layers[level], feats[level]
            if type(layer).__name__ in CUDA_ONLY and feat.device.type != "cuda":
                raise ValueError(
                    f"{type(layer).__name__} runs on CUDA tensors only (mmcv has no other kernel), got {feat.device}"
                )
            if not isinstance(layer, RoIAlign):  # mmcv.ops layers read NCHW whatever the strides
                feat = feat.contiguous()
            return layer(feat, rois)

        return pool

    @staticmethod
    def _with_unused(pooled: Tensor, unused: list[Tensor] | tuple[Tensor, ...]) -> Tensor:
        if not torch.is_grad_enabled() or not unused:
            return pooled
        return pooled + sum(f.sum() * 0.0 for f in unused)
