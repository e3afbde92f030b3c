"""PAFPN (Liu et al., *Path Aggregation Network for Instance Segmentation*, CVPR 2018): an FPN
followed by a bottom-up path, each level plus the stride-2-downsampled finer one. MMDetection's
names, arguments and checkpoint keys (``downsample_convs``, ``pafpn_convs``)."""

from mmcv.cnn import ConvModule
from torch import Tensor, nn

from mmcascade.registry import MODELS

from .fpn import FPN


@MODELS.register_module()
class PAFPN(FPN):
    """:class:`FPN` (same arguments) plus the bottom-up augmentation: ``downsample_convs`` (3x3,
    stride 2) carry each FPN output up a level, where it is added, and ``pafpn_convs`` (3x3) give
    every level but the finest its output. Extra levels are built as the FPN's, from these outputs."""

    def __init__(self, in_channels: list[int], out_channels: int, num_outs: int, **kwargs) -> None:
        super().__init__(in_channels, out_channels, num_outs, **kwargs)
        layer = dict(conv_cfg=kwargs.get("conv_cfg"), norm_cfg=kwargs.get("norm_cfg"), act_cfg=kwargs.get("act_cfg"))
        levels = self.backbone_end_level - self.start_level
        self.downsample_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, stride=2, padding=1, inplace=False, **layer)
            for _ in range(levels - 1)
        )
        self.pafpn_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, inplace=False, **layer) for _ in range(levels - 1)
        )

    def _level_outputs(self, laterals: list[Tensor]) -> list[Tensor]:
        inter = super()._level_outputs(laterals)
        for i, down in enumerate(self.downsample_convs):
            inter[i + 1] = inter[i + 1] + down(inter[i])
        return [inter[0]] + [conv(x) for conv, x in zip(self.pafpn_convs, inter[1:])]
