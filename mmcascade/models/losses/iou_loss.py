"""IoU-family box regression losses on decoded boxes (``reg_decoded_bbox=True``): IoU (Yu et al.,
2016), GIoU (Rezatofighi et al., CVPR 2019), DIoU and CIoU (Zheng et al., AAAI 2020), with
MMDetection's names, arguments and epsilon placement. Boxes ``(N, 4)`` xyxy, the same frame
(input-image pixels) for prediction and target; per-coordinate weights ``(N, 4)`` are averaged."""

import math

import torch
from torch import Tensor

from mmcascade.registry import MODELS

from .smooth_l1_loss import RegressionLoss


def _overlap(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Intersection area, the two areas, and the enclosing box's ``(w, h)`` of aligned pairs."""
    wh = (torch.min(pred[:, 2:], target[:, 2:]) - torch.max(pred[:, :2], target[:, :2])).clamp(min=0)
    area_p = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_t = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    enclose = (torch.max(pred[:, 2:], target[:, 2:]) - torch.min(pred[:, :2], target[:, :2])).clamp(min=0)
    return wh[:, 0] * wh[:, 1], area_p, area_t, enclose


def aligned_iou(pred: Tensor, target: Tensor, eps: float = 1e-6) -> Tensor:
    """``(N,)`` IoU of aligned pairs, the union at least ``eps``."""
    inter, area_p, area_t, _ = _overlap(pred, target)
    return inter / (area_p + area_t - inter).clamp(min=eps)


def giou(pred: Tensor, target: Tensor, eps: float = 1e-6) -> Tensor:
    """``(N,)`` generalised IoU: IoU minus the enclosing box's share not in the union."""
    inter, area_p, area_t, enclose = _overlap(pred, target)
    union = (area_p + area_t - inter).clamp(min=eps)
    enclose_area = (enclose[:, 0] * enclose[:, 1]).clamp(min=eps)
    return inter / union - (enclose_area - union) / enclose_area


def _centre_distance(pred: Tensor, target: Tensor, enclose: Tensor, eps: float) -> Tensor:
    """Squared centre distance over the enclosing box's squared diagonal."""
    rho2 = (
        (target[:, 0] + target[:, 2] - pred[:, 0] - pred[:, 2]) ** 2
        + (target[:, 1] + target[:, 3] - pred[:, 1] - pred[:, 3]) ** 2
    ) / 4
    return rho2 / (enclose[:, 0] ** 2 + enclose[:, 1] ** 2 + eps)


def diou(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """``(N,)`` distance IoU (the union and diagonal padded by ``eps``)."""
    inter, area_p, area_t, enclose = _overlap(pred, target)
    return inter / (area_p + area_t - inter + eps) - _centre_distance(pred, target, enclose, eps)


def ciou(pred: Tensor, target: Tensor, eps: float = 1e-7) -> Tensor:
    """``(N,)`` complete IoU: DIoU minus the aspect-ratio term ``alpha * v`` (``alpha`` without
    gradient, 0 where IoU <= 0.5 and for a box equal to its target), clamped to [-1, 1]."""
    inter, area_p, area_t, enclose = _overlap(pred, target)
    iou = inter / (area_p + area_t - inter + eps)
    w1, h1 = pred[:, 2] - pred[:, 0], pred[:, 3] - pred[:, 1] + eps
    w2, h2 = target[:, 2] - target[:, 0], target[:, 3] - target[:, 1] + eps
    v = (4 / math.pi**2) * (torch.atan(w2 / h2) - torch.atan(w1 / h1)) ** 2
    with torch.no_grad():  # 0 / 0 for a perfect box: its alpha is 0 (MMDetection gives NaN there)
        denom = 1 - iou + v
        alpha = torch.where(denom > 0, (iou > 0.5).float() * v / denom.clamp(min=torch.finfo(v.dtype).tiny), 0.0)
    return (iou - (_centre_distance(pred, target, enclose, eps) + alpha * v)).clamp(min=-1.0, max=1.0)


class _IoUFamilyLoss(RegressionLoss):
    """Losses of one value per box: per-coordinate ``(N, 4)`` weights are averaged per box."""

    def __init__(self, eps: float = 1e-6, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.eps = eps

    def loss_weights(self, weight: Tensor | None, pred: Tensor) -> Tensor | None:
        if weight is not None and weight.dim() > 1:
            if weight.shape != pred.shape:
                raise ValueError(f"{type(self).__name__}: weight {tuple(weight.shape)} for boxes {tuple(pred.shape)}")
            return weight.mean(-1)
        return weight


@MODELS.register_module()
class IoULoss(_IoUFamilyLoss):
    """``1 - IoU`` (``mode='linear'``), ``1 - IoU**2`` (``'square'``) or ``-log IoU`` (``'log'``,
    the default), IoU clamped to at least ``eps``. ``linear=True`` is the old spelling of ``'linear'``."""

    def __init__(
        self,
        linear: bool = False,
        eps: float = 1e-6,
        reduction: str = "mean",
        loss_weight: float = 1.0,
        mode: str = "log",
    ) -> None:
        super().__init__(eps, reduction, loss_weight)
        if mode not in ("linear", "square", "log"):
            raise ValueError(f"IoULoss: mode must be 'linear', 'square' or 'log', got {mode!r}")
        self.mode = "linear" if linear else mode

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        ious = aligned_iou(pred, target).clamp(min=self.eps)
        if self.mode == "linear":
            return 1 - ious
        if self.mode == "square":
            return 1 - ious**2
        return -ious.log()


@MODELS.register_module()
class GIoULoss(_IoUFamilyLoss):
    """``1 - GIoU``."""

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return 1 - giou(pred, target, self.eps)


@MODELS.register_module()
class DIoULoss(_IoUFamilyLoss):
    """``1 - DIoU``."""

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return 1 - diou(pred, target, self.eps)


@MODELS.register_module()
class CIoULoss(_IoUFamilyLoss):
    """``1 - CIoU``."""

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return 1 - ciou(pred, target, self.eps)


def bounded_iou_terms(pred: Tensor, target: Tensor, beta: float = 0.2, eps: float = 1e-3) -> Tensor:
    """``(N, 4)`` Bounded IoU loss (Tychsen-Smith and Petersson, CVPR 2018): per coordinate the
    upper bound of ``1 - IoU`` when only that coordinate (centre x, y, width, height) is wrong,
    smoothed like smooth-L1 below ``beta``. The target is a constant (no gradient)."""
    pw, ph = pred[:, 2] - pred[:, 0], pred[:, 3] - pred[:, 1]
    pcx, pcy = (pred[:, 0] + pred[:, 2]) * 0.5, (pred[:, 1] + pred[:, 3]) * 0.5
    with torch.no_grad():
        tw, th = target[:, 2] - target[:, 0], target[:, 3] - target[:, 1]
        tcx, tcy = (target[:, 0] + target[:, 2]) * 0.5, (target[:, 1] + target[:, 3]) * 0.5
    dx, dy = (tcx - pcx).abs(), (tcy - pcy).abs()
    zero = torch.zeros_like(dx)
    terms = torch.stack(
        [
            1 - torch.max((tw - 2 * dx) / (tw + 2 * dx + eps), zero),
            1 - torch.max((th - 2 * dy) / (th + 2 * dy + eps), zero),
            1 - torch.min(tw / (pw + eps), pw / (tw + eps)),
            1 - torch.min(th / (ph + eps), ph / (th + eps)),
        ],
        dim=-1,
    )
    return torch.where(terms < beta, 0.5 * terms * terms / beta, terms - 0.5 * beta)


@MODELS.register_module()
class BoundedIoULoss(RegressionLoss):
    """Bounded IoU loss; per-coordinate ``(N, 4)`` terms and weights (not averaged per box)."""

    def __init__(self, beta: float = 0.2, eps: float = 1e-3, reduction: str = "mean", loss_weight: float = 1.0) -> None:
        super().__init__(reduction, loss_weight)
        self.beta, self.eps = beta, eps

    def elementwise(self, pred: Tensor, target: Tensor) -> Tensor:
        return bounded_iou_terms(pred, target, self.beta, self.eps)
