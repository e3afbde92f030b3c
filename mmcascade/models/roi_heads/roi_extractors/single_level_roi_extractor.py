"""Pool each RoI from the one FPN level that suits its scale."""
import torch
import torch.nn as nn
from mmcv import ops
from mmengine.model import BaseModule
from torch import Tensor

from mmcascade.registry import MODELS


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
    """RoIAlign (``mmcv.ops``) on the level chosen by :func:`map_roi_levels`.

    Args:
        roi_layer: e.g. ``dict(type='RoIAlign', output_size=7, sampling_ratio=0, aligned=True)``.
        out_channels: channels of the features.
        featmap_strides: strides of the levels used (the first ``len`` FPN outputs).
        finest_scale: RoI scale mapped to the finest level's upper bound / 2.
    """

    def __init__(self, roi_layer: dict, out_channels: int, featmap_strides: list[int],
                 finest_scale: int = 56, init_cfg: dict | None = None) -> None:
        super().__init__(init_cfg)
        cfg = dict(roi_layer)
        layer_cls = getattr(ops, cfg.pop("type"))
        self.roi_layers = nn.ModuleList([layer_cls(spatial_scale=1.0 / s, **cfg) for s in featmap_strides])
        self.out_channels = out_channels
        self.featmap_strides = list(featmap_strides)
        self.finest_scale = finest_scale

    @property
    def num_inputs(self) -> int:
        return len(self.featmap_strides)

    @property
    def output_size(self) -> tuple[int, int]:
        size = self.roi_layers[0].output_size
        return tuple(size) if isinstance(size, (tuple, list)) else (size, size)

    def forward(self, feats: tuple[Tensor, ...], rois: Tensor) -> Tensor:
        """``rois (K, 5)`` -> features ``(K, C, out, out)``.

        While gradients are recorded, a level with no RoIs still adds ``0 * sum(feature)`` so
        every level stays in the autograd graph, which distributed training needs (no unused
        parameters). Features in another layout (``channels_last``) are made NCHW-contiguous
        first: mmcv's CPU kernel reads its input as NCHW whatever its strides.
        """
        feats = feats[: self.num_inputs]
        shape = (rois.shape[0], self.out_channels, *self.output_size)
        if rois.shape[0] == 0:
            return self._with_unused(feats[0].new_zeros(shape), feats)
        levels = map_roi_levels(rois, self.num_inputs, self.finest_scale)
        # Every RoI has exactly one level, so every row of ``pooled`` is written below.
        pooled = feats[0].new_empty(shape)
        unused = []
        for i, (feat, layer) in enumerate(zip(feats, self.roi_layers)):
            inds = torch.nonzero(levels == i, as_tuple=False).squeeze(1)
            if inds.numel() == rois.shape[0]:
                pooled = layer(feat.contiguous(), rois).to(pooled.dtype)
            elif inds.numel() > 0:
                pooled[inds] = layer(feat.contiguous(), rois[inds]).to(pooled.dtype)
            else:
                unused.append(feat)
        return self._with_unused(pooled, unused)

    @staticmethod
    def _with_unused(pooled: Tensor, unused: list[Tensor] | tuple[Tensor, ...]) -> Tensor:
        if not torch.is_grad_enabled() or not unused:
            return pooled
        return pooled + sum(f.sum() * 0.0 for f in unused)
