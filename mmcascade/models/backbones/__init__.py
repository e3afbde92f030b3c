from .regnet import RegNet
from .res2net import Res2Net
from .resnest import ResNeSt
from .resnet import ResNet, ResNeXt

__all__ = ["RegNet", "Res2Net", "ResNeSt", "ResNet", "ResNeXt"]
