"""Delta (dx, dy, dw, dh) box coding as pure functions.

The encoding of a target box ``g`` relative to a proposal ``p`` is
``((gx - px) / pw, (gy - py) / ph, log(gw / pw), log(gh / ph))``, then
normalised as ``(delta - means) / stds``. Decoding inverts it with the
``dw, dh`` clamped to ``|log(wh_ratio_clip)|`` so ``exp`` cannot overflow.
"""

import math
from collections.abc import Sequence

import torch
from torch import Tensor

DEFAULT_WH_RATIO_CLIP = 16 / 1000
ImageSize = Sequence[int] | Tensor
"""An image's ``(height, width, ...)``: ints, or a ``(2,)`` tensor where an exported graph takes
the size as an input. Functions that clip to it accept both without branching."""


def encode_deltas(
    proposals: Tensor,
    targets: Tensor,
    means: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
    stds: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
) -> Tensor:
    """Encode ``targets`` relative to ``proposals``.

    Args:
        proposals: ``(N, 4)`` float, xyxy pixels, positive width and height.
        targets: ``(N, 4)`` float, xyxy pixels.
        means, stds: normalisation of the four deltas.

    Returns:
        ``(N, 4)`` float32 normalised deltas.
    """
    p = proposals.float()
    g = targets.float()
    pw = p[..., 2] - p[..., 0]
    ph = p[..., 3] - p[..., 1]
    px = (p[..., 0] + p[..., 2]) * 0.5
    py = (p[..., 1] + p[..., 3]) * 0.5
    gw = g[..., 2] - g[..., 0]
    gh = g[..., 3] - g[..., 1]
    gx = (g[..., 0] + g[..., 2]) * 0.5
    gy = (g[..., 1] + g[..., 3]) * 0.5
    deltas = torch.stack([(gx - px) / pw, (gy - py) / ph, torch.log(gw / pw), torch.log(gh / ph)], dim=-1)
    return (deltas - deltas.new_tensor(means)) / deltas.new_tensor(stds)


def decode_deltas(
    rois: Tensor,
    deltas: Tensor,
    means: Sequence[float] = (0.0, 0.0, 0.0, 0.0),
    stds: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
    max_shape: ImageSize | None = None,
    wh_ratio_clip: float = DEFAULT_WH_RATIO_CLIP,
    clip_border: bool = True,
) -> Tensor:
    """Apply normalised deltas to boxes.

    Args:
        rois: ``(N, 4)`` float, xyxy pixels; batched: ``(B, N, 4)``.
        deltas: ``(N, 4 * k)`` normalised deltas (``k`` classes, or 1 when class-agnostic);
            batched: ``(B, N, 4 * k)``.
        means, stds: the normalisation used at encoding.
        max_shape: ``(height, width)`` to clip the result to (ints, or a ``(2,)`` tensor, as an
            exported graph has it), or None; batched: also one shape per image (a sequence of
            ``(height, width)`` or a ``(B, 2)`` tensor).
        wh_ratio_clip: the largest allowed ``exp(|dw|)`` is ``1 / wh_ratio_clip``.
        clip_border: clip to ``max_shape`` when it is given.

    Returns:
        ``(N, 4 * k)`` (batched: ``(B, N, 4 * k)``) float32 boxes, xyxy pixels. Computed in fp32
        whatever the input dtype.
    """
    if deltas.dim() == 3:
        return _decode_batched(rois, deltas, means, stds, max_shape, wh_ratio_clip, clip_border)
    num_rois = deltas.shape[0]
    num_groups = deltas.shape[1] // 4
    d = deltas.float().reshape(-1, 4)
    d = d * d.new_tensor(stds) + d.new_tensor(means)
    r = rois.float()[:, None, :].expand(num_rois, num_groups, 4).reshape(-1, 4)
    pxy = (r[:, :2] + r[:, 2:]) * 0.5
    pwh = r[:, 2:] - r[:, :2]
    max_ratio = abs(math.log(wh_ratio_clip))
    dwh = d[:, 2:].clamp(min=-max_ratio, max=max_ratio)
    gxy = pxy + pwh * d[:, :2]
    gwh = pwh * dwh.exp()
    boxes = torch.cat([gxy - gwh * 0.5, gxy + gwh * 0.5], dim=-1)
    if clip_border and max_shape is not None:
        boxes = _clip_to(boxes, max_shape)
    return boxes.reshape(num_rois, 4 * num_groups)


def _decode_batched(
    rois: Tensor,
    deltas: Tensor,
    means: Sequence[float],
    stds: Sequence[float],
    max_shape: ImageSize | Sequence[ImageSize] | None,
    wh_ratio_clip: float,
    clip_border: bool,
) -> Tensor:
    """:func:`decode_deltas` of ``(B, N, 4)`` rois and ``(B, N, 4k)`` deltas: each image's boxes
    clipped to its own shape (or all to one shape)."""
    batch, num = deltas.shape[:2]
    if rois.shape[:-1] != deltas.shape[:-1]:
        raise ValueError(
            f"batched decoding needs rois (B, N, 4) for deltas {tuple(deltas.shape)}, got {tuple(rois.shape)}"
        )
    flat = decode_deltas(rois.reshape(-1, 4), deltas.reshape(batch * num, -1), means, stds, None, wh_ratio_clip)
    boxes = flat.reshape(batch, num, -1)
    if not clip_border or max_shape is None:
        return boxes
    hw = torch.as_tensor(max_shape, device=boxes.device).to(boxes.dtype)
    hw = hw[None].expand(batch, -1) if hw.dim() == 1 else hw
    if hw.shape[0] != batch:
        raise ValueError(f"max_shape gives {hw.shape[0]} image shapes for a batch of {batch}")
    bound = torch.stack([hw[:, 1], hw[:, 0]], dim=-1).repeat(1, boxes.shape[-1] // 2)[:, None]
    return torch.minimum(boxes.clamp(min=0), bound)


def _clip_to(boxes: Tensor, max_shape: ImageSize) -> Tensor:
    """``(N, 4)`` xyxy boxes clamped to ``[0, width] x [0, height]`` of ``max_shape`` (``(h, w, ...)``
    ints, or a tensor: in an exported graph the image size is an input); ``min(max(x, 0), w)``."""
    hw = torch.as_tensor(max_shape, device=boxes.device).to(boxes.dtype)
    return torch.minimum(boxes.clamp(min=0), torch.stack([hw[1], hw[0], hw[1], hw[0]])[None])
