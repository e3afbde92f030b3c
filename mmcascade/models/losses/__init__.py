from .accuracy import accuracy
from .balanced_l1_loss import BalancedL1Loss
from .cross_entropy_loss import CrossEntropyLoss
from .focal_loss import FocalLoss
from .iou_loss import BoundedIoULoss, CIoULoss, DIoULoss, GIoULoss, IoULoss
from .smooth_l1_loss import L1Loss, SmoothL1Loss
from .utils import weight_reduce_loss

__all__ = [
    "BalancedL1Loss",
    "BoundedIoULoss",
    "CIoULoss",
    "CrossEntropyLoss",
    "DIoULoss",
    "FocalLoss",
    "GIoULoss",
    "IoULoss",
    "L1Loss",
    "SmoothL1Loss",
    "accuracy",
    "weight_reduce_loss",
]
