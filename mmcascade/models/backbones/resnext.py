"""MMDetection's module path ``mmdet.models.backbones.resnext``: ``ResNeXt`` and its bottleneck
(the ResNet bottleneck with ``groups`` and ``base_width``), defined in :mod:`.resnet`."""

from .resnet import Bottleneck, ResNeXt

__all__ = ["Bottleneck", "ResNeXt"]
