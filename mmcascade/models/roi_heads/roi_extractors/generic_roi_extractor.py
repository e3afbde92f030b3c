"""GRoIE's RoI extractor (Rossi et al., "A novel Region of Interest Extraction Layer for Instance
Segmentation", ICPR 2020): every RoI pooled from every FPN level, each level's features
pre-processed, the levels aggregated, then post-processed."""

from typing import Any

from mmcv.cnn import build_plugin_layer
from torch import Tensor

from mmcascade.registry import MODELS
from mmcascade.utils.typing_utils import OptConfigType

from .single_level_roi_extractor import SingleRoIExtractor

AGGREGATIONS = ("sum", "concat")


@MODELS.register_module()
class GenericRoIExtractor(SingleRoIExtractor):
    """Pool each RoI on all ``len(featmap_strides)`` levels and combine them.

    Args:
        aggregation: ``'sum'`` adds the levels' (pre-processed) features; ``'concat'`` stacks
            them along channels (``out_channels`` must then be their total).
        pre_cfg: an mmcv plugin layer run on each level's pooled features (shared across
            levels), e.g. ``dict(type='ConvModule', in_channels=256, out_channels=256,
            kernel_size=5, padding=2, inplace=False)``.
        post_cfg: a plugin layer run on the aggregate, e.g. ``dict(type='GeneralizedAttention',
            in_channels=256, spatial_range=-1, num_heads=6, attention_type='0100', kv_stride=2)``.
        **kwargs: :class:`SingleRoIExtractor`'s (``roi_layer``, ``out_channels``,
            ``featmap_strides``); ``finest_scale`` is unused (no level is chosen).

    With a single level the pooled features are returned as they are (no pre / post module), as
    MMDetection does.
    """

    def __init__(
        self, aggregation: str = "sum", pre_cfg: OptConfigType = None, post_cfg: OptConfigType = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"GenericRoIExtractor: aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
        self.aggregation = aggregation
        self.with_pre, self.with_post = pre_cfg is not None, post_cfg is not None
        if post_cfg is not None:
            self.post_module = build_plugin_layer(dict(post_cfg), "_post_module")[1]
        if pre_cfg is not None:
            self.pre_module = build_plugin_layer(dict(pre_cfg), "_pre_module")[1]

    def forward(self, feats: tuple[Tensor, ...], rois: Tensor, roi_scale_factor: float | None = None) -> Tensor:
        """``rois (K, 5)`` -> ``(K, out_channels, out, out)``: the levels' features of each RoI
        (scaled by ``roi_scale_factor`` about its centre when given), aggregated."""
        feats = feats[: self.num_inputs]
        pool = self._pool_level(feats)
        if self.num_inputs == 1:
            return pool(0, rois)
        out = feats[0].new_zeros(rois.shape[0], self.out_channels, *self.output_size)
        if rois.shape[0] == 0:
            return out
        if roi_scale_factor is not None:
            rois = self.roi_rescale(rois, roi_scale_factor)
        start = 0
        for level in range(self.num_inputs):
            level_feats = pool(level, rois)
            end = start + level_feats.shape[1]
            if self.with_pre:
                level_feats = self.pre_module(level_feats)
            if self.aggregation == "sum":
                out = out + level_feats
            else:
                out[:, start:end] = level_feats
            start = end
        if self.aggregation == "concat" and start != self.out_channels:
            raise ValueError(
                f"GenericRoIExtractor: the levels concatenate to {start} channels, out_channels is {self.out_channels}"
            )
        return self.post_module(out) if self.with_post else out
