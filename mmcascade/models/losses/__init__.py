from .accuracy import accuracy
from .cross_entropy_loss import CrossEntropyLoss
from .smooth_l1_loss import L1Loss, SmoothL1Loss
from .utils import weight_reduce_loss

__all__ = ["accuracy", "CrossEntropyLoss", "L1Loss", "SmoothL1Loss", "weight_reduce_loss"]
