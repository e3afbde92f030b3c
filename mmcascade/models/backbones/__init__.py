from .convnext import ConvNeXt
from .hrnet import HRNet
from .regnet import RegNet
from .res2net import Res2Net
from .resnest import ResNeSt
from .resnet import ResNet, ResNeXt
from .swin import SwinTransformer

__all__ = ["ConvNeXt", "HRNet", "RegNet", "Res2Net", "ResNeSt", "ResNet", "ResNeXt", "SwinTransformer"]
