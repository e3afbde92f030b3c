from .fcos_head import FCOSHead
from .rpn_head import RPNHead

__all__ = ["FCOSHead", "RPNHead"]
