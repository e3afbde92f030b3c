from .accuracy import accuracy
from .cross_entropy_loss import CrossEntropyLoss
from .iou_loss import BoundedIoULoss, CIoULoss, DIoULoss, GIoULoss, IoULoss
from .smooth_l1_loss import L1Loss, SmoothL1Loss
from .utils import weight_reduce_loss

__all__ = [
    "BoundedIoULoss",
    "CIoULoss",
    "CrossEntropyLoss",
    "DIoULoss",
    "GIoULoss",
    "IoULoss",
    "L1Loss",
    "SmoothL1Loss",
    "accuracy",
    "weight_reduce_loss",
]
