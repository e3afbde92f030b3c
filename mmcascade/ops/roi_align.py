"""RoIAlign (He et al., Mask R-CNN) with mmcv's sampling rules, in torch.

Every output bin of a RoI averages (or maxes) bilinear samples taken on a regular grid inside
the bin. A sample is 4 weighted feature rows of the NHWC feature map, so one bin is a weighted
sum of rows: :func:`torch.nn.functional.embedding_bag` computes all of them at once, vectorised
over channels and multi-threaded, without holding the GIL. The sampling rules are mmcv's
(``mmcv/ops/csrc/pytorch/cpu/roi_align.cpp``): the same grid, the same border handling (samples
beyond ``[-1, size]`` count as zero, samples in ``[-1, 0]`` are clamped to 0, the last row/column
is repeated), the same order of floating-point operations for the sample coordinates, so both
implementations see the same taps and agree to float rounding. Gradients come from autograd.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# Upper bound on (bins x taps) handled by one embedding_bag call (int64 indices + weights).
_MAX_TAPS_PER_CALL = 1 << 23
_MAX_INIT = -10000.0  # mmcv's max-pool start value: what an empty grid gives in 'max' mode


def as_pair(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))


def _axis_taps(
    start: Tensor, bin_size: Tensor, out: int, grid: int, size: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Bilinear taps along one axis for ``k`` RoIs sharing one grid size.

    Args:
        start, bin_size: ``(k,)`` float, feature-map cells (RoI start and bin length).
        out: output bins along the axis; grid: samples per bin; size: feature-map length.

    Returns:
        ``low, high`` ``(k, out, grid)`` int64 cell indices, ``w_low, w_high`` ``(k, out, grid)``
        weights (zero for samples outside ``[-1, size]``).
    """
    cells = torch.arange(out, device=start.device, dtype=start.dtype)
    offsets = torch.arange(grid, device=start.device, dtype=start.dtype) + 0.5
    # mmcv: start + p * bin + (i + .5) * bin / grid, evaluated left to right.
    coord = (start[:, None, None] + cells[None, :, None] * bin_size[:, None, None]) + (
        offsets[None, None, :] * bin_size[:, None, None]
    ) / grid
    return bilinear_taps(coord, size)


def bilinear_taps(coord: Tensor, size: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """mmcv's bilinear taps of sample coordinates ``coord`` (any shape, feature-map cells) along an
    axis of ``size`` cells: ``low, high`` int64 cell indices and ``w_low, w_high`` weights. Samples
    outside ``[-1, size]`` get zero weights, those in ``[-1, 0]`` are clamped to 0, and the last
    cell is repeated at the far border."""
    inside = (coord >= -1.0) & (coord <= size)
    coord = coord.clamp(min=0)
    low = coord.floor()
    edge = low >= size - 1
    low = torch.where(edge, torch.full_like(low, size - 1), low)
    coord = torch.where(edge, low, coord)
    high = torch.where(edge, low, low + 1)
    frac = coord - low
    keep = inside.to(coord.dtype)
    return low.long(), high.long(), (1.0 - frac) * keep, frac * keep


def _axis_window(start: Tensor, bin_size: Tensor, out: int, grid: int, size: int) -> tuple[Tensor, Tensor]:
    """The taps of one axis merged per cell: all samples of a bin together touch a short run of
    cells (at most ``grid + 1`` for the adaptive grid), so a bin's average is a weighted sum over
    that run rather than over ``2 * grid`` separate taps.

    Returns:
        ``first (k, out)`` int64, the first cell of each bin's run, and ``weights (k, out, L)``,
        the summed bilinear weight of each cell of the run divided by ``grid`` (zero past its end).
    """
    low, high, w_low, w_high = _axis_taps(start, bin_size, out, grid, size)
    first = low.amin(2)
    length = int((high.amax(2) - first).max().item()) + 1
    weights = start.new_zeros((low.shape[0], out, length))
    weights.scatter_add_(2, low - first[..., None], w_low / grid)
    weights.scatter_add_(2, high - first[..., None], w_high / grid)
    return first, weights


def _avg_bags(
    rois: Tensor,
    starts: tuple[Tensor, Tensor],
    bins: tuple[Tensor, Tensor],
    grid: tuple[int, int],
    out: tuple[int, int],
    hw: tuple[int, int],
) -> tuple[Tensor, Tensor]:
    """Rows of the NHWC table and their weights for every bin of ``k`` RoIs with one grid size:
    ``(k, out_h * out_w, T)`` each, ``T`` the cells of a bin's window -- or, when samples are
    further apart than a cell (a fixed ``sampling_ratio`` on large RoIs) and the window would be
    longer, the 4 taps of each sample."""
    (gh, gw), (oh, ow), (h, w) = grid, out, hw
    first_y, wy = _axis_window(starts[0], bins[0], oh, gh, h)
    first_x, wx = _axis_window(starts[1], bins[1], ow, gw, w)
    ly, lx = wy.shape[2], wx.shape[2]
    k = rois.shape[0]
    if ly * lx > 4 * gh * gw:
        ylo, yhi, wy0, wy1 = _axis_taps(starts[0], bins[0], oh, gh, h)
        xlo, xhi, wx0, wx1 = _axis_taps(starts[1], bins[1], ow, gw, w)
        base = (rois[:, 0].long() * (h * w))[:, None, None, None, None]
        y_rows = torch.stack([ylo, ylo, yhi, yhi], -1)[:, :, None, :, None, :]  # (k, oh, 1, gh, 1, 4)
        x_rows = torch.stack([xlo, xhi, xlo, xhi], -1)[:, None, :, None, :, :]  # (k, 1, ow, 1, gw, 4)
        y_w = torch.stack([wy0, wy0, wy1, wy1], -1)[:, :, None, :, None, :] / gh
        x_w = torch.stack([wx0, wx1, wx0, wx1], -1)[:, None, :, None, :, :] / gw
        rows = base[..., None] + y_rows * w + x_rows
        return rows.reshape(k, oh * ow, -1), (y_w * x_w).reshape(k, oh * ow, -1)
    ys = (first_y[:, :, None] + torch.arange(ly, device=rois.device)).clamp(max=h - 1)  # (k, oh, ly)
    xs = (first_x[:, :, None] + torch.arange(lx, device=rois.device)).clamp(max=w - 1)  # (k, ow, lx)
    base = (rois[:, 0].long() * (h * w))[:, None, None, None, None]
    rows = base + ys[:, :, None, :, None] * w + xs[:, None, :, None, :]  # (k, oh, ow, ly, lx)
    weights = wy[:, :, None, :, None] * wx[:, None, :, None, :]
    return rows.reshape(k, oh * ow, ly * lx), weights.reshape(k, oh * ow, ly * lx)


def _pool_group(
    table: Tensor,
    rois: Tensor,
    starts: tuple[Tensor, Tensor],
    bins: tuple[Tensor, Tensor],
    grid: tuple[int, int],
    out: tuple[int, int],
    hw: tuple[int, int],
    mode: str,
) -> Tensor:
    """Pool ``k`` RoIs with one grid size. Returns ``(k, out_h, out_w, C)`` in ``table``'s dtype."""
    (gh, gw), (oh, ow), (h, w) = grid, out, hw
    ylo, yhi, wy0, wy1 = _axis_taps(starts[0], bins[0], oh, gh, h)
    xlo, xhi, wx0, wx1 = _axis_taps(starts[1], bins[1], ow, gw, w)

    def ys(t: Tensor) -> Tensor:  # (k, oh, gh) -> (k, oh, 1, gh, 1)
        return t[:, :, None, :, None]

    def xs(t: Tensor) -> Tensor:  # (k, ow, gw) -> (k, 1, ow, 1, gw)
        return t[:, None, :, None, :]

    base = ys((rois[:, 0].long() * (h * w))[:, None, None])
    rows = torch.stack(
        torch.broadcast_tensors(
            base + ys(ylo) * w + xs(xlo),
            base + ys(ylo) * w + xs(xhi),
            base + ys(yhi) * w + xs(xlo),
            base + ys(yhi) * w + xs(xhi),
        ),
        -1,
    )  # (k, oh, ow, gh, gw, 4)
    weights = torch.stack(
        torch.broadcast_tensors(ys(wy0) * xs(wx0), ys(wy0) * xs(wx1), ys(wy1) * xs(wx0), ys(wy1) * xs(wx1)), -1
    )
    k, c = rois.shape[0], table.shape[1]
    if mode == "avg":
        weights = weights / (gh * gw)
        bags = F.embedding_bag(
            rows.reshape(k * oh * ow, -1),
            table,
            per_sample_weights=weights.reshape(k * oh * ow, -1).to(table.dtype),
            mode="sum",
        )
        return bags.view(k, oh, ow, c)
    taps = table[rows.reshape(-1)].view(k * oh * ow, gh * gw, 4, c)
    values = (taps * weights.reshape(k * oh * ow, gh * gw, 4, 1).to(table.dtype)).sum(2)
    # The first largest sample wins, as in mmcv (its gradient goes to that sample's taps only).
    return values.max(1).values.view(k, oh, ow, c)


def _pool_group_dense(
    feat: Tensor,
    rois: Tensor,
    starts: tuple[Tensor, Tensor],
    bins: tuple[Tensor, Tensor],
    grid: tuple[int, int],
    out: tuple[int, int],
    hw: tuple[int, int],
) -> Tensor:
    """Average pooling of ``k`` RoIs as ``A_y @ crop @ A_x^T`` per RoI, for features with few channels.

    The bilinear samples of a bin are separable, so a RoI's output is two small matrix products
    over the rows / columns its taps touch. For one-channel inputs with large grids (mask targets
    cut from full-resolution masks) this is far cheaper than gathering every tap.
    Returns ``(k, out_h, out_w, C)``.
    """
    (gh, gw), (oh, ow), (h, w) = grid, out, hw
    ylo, yhi, wy0, wy1 = _axis_taps(starts[0], bins[0], oh, gh, h)
    xlo, xhi, wx0, wx1 = _axis_taps(starts[1], bins[1], ow, gw, w)
    y0, y1 = ylo.flatten(1).amin(1).tolist(), yhi.flatten(1).amax(1).tolist()
    x0, x1 = xlo.flatten(1).amin(1).tolist(), xhi.flatten(1).amax(1).tolist()
    batch = rois[:, 0].long().tolist()
    pooled = []
    for i in range(rois.shape[0]):
        ay = feat.new_zeros((oh, y1[i] - y0[i] + 1))
        ay.scatter_add_(1, ylo[i] - y0[i], (wy0[i] / gh).to(feat.dtype))
        ay.scatter_add_(1, yhi[i] - y0[i], (wy1[i] / gh).to(feat.dtype))
        ax = feat.new_zeros((ow, x1[i] - x0[i] + 1))
        ax.scatter_add_(1, xlo[i] - x0[i], (wx0[i] / gw).to(feat.dtype))
        ax.scatter_add_(1, xhi[i] - x0[i], (wx1[i] / gw).to(feat.dtype))
        crop = feat[batch[i], :, y0[i] : y1[i] + 1, x0[i] : x1[i] + 1]
        pooled.append(ay @ crop @ ax.T)  # (C, oh, ow)
    return torch.stack(pooled).permute(0, 2, 3, 1)


def roi_align_torch(
    feat: Tensor,
    rois: Tensor,
    output_size: int | tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int = 0,
    pool_mode: str = "avg",
    aligned: bool = True,
) -> Tensor:
    """RoIAlign of ``rois`` on ``feat`` (any device, float dtypes, NCHW or channels_last).

    Args:
        feat: ``(B, C, H, W)`` features.
        rois: ``(K, 5)`` float, ``(batch_idx, x1, y1, x2, y2)`` in input-image pixels.
        output_size: bins per side, ``int`` or ``(h, w)``.
        spatial_scale: feature cells per image pixel (``1 / stride``).
        sampling_ratio: samples per bin side; 0 takes ``ceil(roi_size / output_size)`` per RoI.
        pool_mode: ``'avg'`` or ``'max'`` over a bin's samples.
        aligned: shift the RoI by half a cell (pixel-centre model); False clamps RoIs to >= 1 cell.

    Returns:
        ``(K, C, out_h, out_w)`` in ``feat``'s dtype (memory in channels_last order).
    """
    if pool_mode not in ("avg", "max"):
        raise ValueError(f"RoIAlign pool_mode={pool_mode!r} is not 'avg' or 'max'")
    if rois.dim() != 2 or rois.shape[1] != 5:
        raise ValueError(f"RoIAlign rois must be (K, 5) (batch_idx, x1, y1, x2, y2), got {tuple(rois.shape)}")
    oh, ow = as_pair(output_size)
    b, c, h, w = feat.shape
    k = rois.shape[0]
    # A view when feat is channels_last; one copy otherwise.
    table = feat.permute(0, 2, 3, 1).reshape(b * h * w, c)
    if k == 0:
        return feat.new_zeros((0, oh, ow, c)).permute(0, 3, 1, 2) + 0 * table.sum()
    coord_dtype = torch.float64 if feat.dtype == torch.float64 else torch.float32
    r = rois.to(coord_dtype)
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (r[:, i] * spatial_scale - offset for i in range(1, 5))
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    bin_h, bin_w = roi_h / oh, roi_w / ow
    if sampling_ratio > 0:
        grid_h = grid_w = torch.full((k,), sampling_ratio, dtype=torch.long, device=rois.device)
    else:
        grid_h, grid_w = torch.ceil(bin_h).long(), torch.ceil(bin_w).long()
    keys = (grid_h.clamp(min=0) << 20) | grid_w.clamp(min=0)
    groups = [key for key in keys.unique().tolist() if key >> 20 > 0 and key & 0xFFFFF > 0]
    if pool_mode == "avg" and c >= 8:
        return _avg_pool(table, rois, keys, groups, (y1, x1), (bin_h, bin_w), (oh, ow), (h, w))
    return _pool_by_groups(feat, table, rois, keys, groups, (y1, x1), (bin_h, bin_w), (oh, ow), pool_mode)


def _pool_by_groups(
    feat: Tensor,
    table: Tensor,
    rois: Tensor,
    keys: Tensor,
    groups: list[int],
    starts: tuple[Tensor, Tensor],
    bins: tuple[Tensor, Tensor],
    out: tuple[int, int],
    pool_mode: str,
) -> Tensor:
    """Pool the RoIs group by group of equal sampling grid (``key = grid_h << 20 | grid_w``):
    max mode, or avg mode on few channels (mask targets). ``(K, C, out_h, out_w)``."""
    (y1, x1), (bin_h, bin_w), (oh, ow) = starts, bins, out
    _, c, h, w = feat.shape
    fill = 0.0 if pool_mode == "avg" else _MAX_INIT  # an empty grid: mmcv writes 0 / its max start value
    result = feat.new_full((rois.shape[0], oh, ow, c), fill)
    for key in groups:
        gh, gw = key >> 20, key & 0xFFFFF
        idx = torch.nonzero(keys == key).squeeze(1)
        if pool_mode == "avg":  # few channels (mask targets): two small matrix products per RoI
            result = result.index_put(
                (idx,),
                _pool_group_dense(
                    feat, rois[idx], (y1[idx], x1[idx]), (bin_h[idx], bin_w[idx]), (gh, gw), (oh, ow), (h, w)
                ),
            )
            continue
        step = max(1, _MAX_TAPS_PER_CALL // (oh * ow * gh * gw * 4))
        for s in range(0, idx.numel(), step):
            part = idx[s : s + step]
            result = result.index_put(
                (part,),
                _pool_group(
                    table,
                    rois[part],
                    (y1[part], x1[part]),
                    (bin_h[part], bin_w[part]),
                    (gh, gw),
                    (oh, ow),
                    (h, w),
                    pool_mode,
                ),
            )
    return result.permute(0, 3, 1, 2)


def _avg_pool(
    table: Tensor,
    rois: Tensor,
    keys: Tensor,
    groups: list[int],
    starts: tuple[Tensor, Tensor],
    bins: tuple[Tensor, Tensor],
    out: tuple[int, int],
    hw: tuple[int, int],
) -> Tensor:
    """Average RoIAlign of all RoIs in one ``embedding_bag`` call: every bin is a bag of table
    rows (its merged taps), bags of RoIs with different grid sizes have different lengths.
    Returns ``(K, C, out_h, out_w)`` (memory in channels_last order)."""
    k, (oh, ow), c = rois.shape[0], out, table.shape[1]
    bins_per_roi = oh * ow
    if len(groups) == 1 and bool((keys == groups[0]).all()):  # one grid size: fixed-length bags in order
        gh, gw = groups[0] >> 20, groups[0] & 0xFFFFF
        rows, weights = _avg_bags(rois, starts, bins, (gh, gw), out, hw)
        pooled = F.embedding_bag(
            rows.reshape(k * bins_per_roi, -1),
            table,
            mode="sum",
            per_sample_weights=weights.reshape(k * bins_per_roi, -1).to(table.dtype),
        )
        return pooled.view(k, oh, ow, c).permute(0, 3, 1, 2)
    bag_ids, all_rows, all_weights = [], [], []
    for key in groups:
        idx = torch.nonzero(keys == key).squeeze(1)
        rows, weights = _avg_bags(
            rois[idx],
            (starts[0][idx], starts[1][idx]),
            (bins[0][idx], bins[1][idx]),
            (key >> 20, key & 0xFFFFF),
            out,
            hw,
        )
        ids = idx[:, None] * bins_per_roi + torch.arange(bins_per_roi, device=rois.device)
        bag_ids.append(ids[:, :, None].expand_as(rows).reshape(-1))
        all_rows.append(rows.reshape(-1))
        all_weights.append(weights.reshape(-1))
    if not bag_ids:  # every RoI has an empty grid: zeros, as mmcv
        return table.new_zeros((k, oh, ow, c)).permute(0, 3, 1, 2) + 0 * table.sum()
    ids = torch.cat(bag_ids)
    order = torch.argsort(ids, stable=True)
    counts = torch.bincount(ids, minlength=k * bins_per_roi)
    offsets = torch.cumsum(counts, 0) - counts
    pooled = F.embedding_bag(
        torch.cat(all_rows)[order],
        table,
        offsets,
        mode="sum",
        per_sample_weights=torch.cat(all_weights)[order].to(table.dtype),
    )
    return pooled.view(k, oh, ow, c).permute(0, 3, 1, 2)
