"""Study, not product code: how fast could CPU RoIAlign be, for the same outputs?

    python benchmarks/roi_align_study.py [--repeats 3] [--end-to-end] [--channels-last]

The model pools its RoIs with ``mmcv.ops.RoIAlign`` (the brief requires it). mmcv's CPU kernel
is single-threaded, holds the GIL and reads NCHW features channel by channel, and it is most of
what ``benchmark_cascade.py infer`` spends outside the dense layers. This script measures an
alternative formulation on the RoIs that cascade_rcnn_r50_fpn (random weights) proposes for one
800x1216 image: every output bin is a weighted sum of feature rows of the NHWC feature map
(4 bilinear taps per sampling point, ``sampling_ratio=0`` grids, ``aligned=True``), computed by
``torch.nn.functional.embedding_bag`` (vectorised over channels, multi-threaded). It prints both
timings (forward, and forward + backward), the largest difference between the two outputs and
the RoIs per FPN level. ``--end-to-end`` also swaps it into the model's RoI extractors and prints
``benchmark_cascade.py infer``'s figures for that model. It is here so the decision on the
"RoIAlign from mmcv.ops" rule can be taken on measured figures; nothing in the package uses it.
"""

import argparse
import statistics

import torch
import torch.nn.functional as F
from torch import Tensor

from mmcascade.ops.roi_align import bilinear_taps
from mmcascade.utils import register_all_modules

from benchmark_cascade import build, image_batch, infer_timings, proposal_rois, timed


def roi_align_nhwc(feat: Tensor, rois: Tensor, out: int = 7, scale: float = 1 / 16) -> Tensor:
    """``feat (B, C, H, W)``, ``rois (K, 5)`` -> ``(K, C, out, out)``; aligned, adaptive grid, average."""
    b, c, h, w = feat.shape
    table = feat.permute(0, 2, 3, 1).contiguous().view(b * h * w, c)  # a copy unless channels_last
    x1, y1, x2, y2 = (rois[:, i] * scale - 0.5 for i in range(1, 5))
    bin_h, bin_w = (y2 - y1) / out, (x2 - x1) / out
    grid_h, grid_w = torch.ceil(bin_h).long(), torch.ceil(bin_w).long()  # 0 for empty RoIs: zeros out
    result = feat.new_zeros(rois.shape[0], out, out, c)
    cells = torch.arange(out, dtype=feat.dtype)
    keys = grid_h * 1024 + grid_w
    for key in keys.unique().tolist():
        idx = torch.nonzero(keys == key).squeeze(1)
        ny, nx = divmod(key, 1024)
        if ny == 0 or nx == 0:
            continue
        oy = cells[:, None] + (torch.arange(ny, dtype=feat.dtype) + 0.5) / ny  # (out, ny)
        ox = cells[:, None] + (torch.arange(nx, dtype=feat.dtype) + 0.5) / nx
        # weights are zero for samples outside the map (mmcv's border rules)
        ylo, yhi, wy0, wy1 = bilinear_taps(y1[idx, None, None] + oy * bin_h[idx, None, None], h)
        xlo, xhi, wx0, wx1 = bilinear_taps(x1[idx, None, None] + ox * bin_w[idx, None, None], w)

        def ys(t: Tensor) -> Tensor:  # (K, out, ny) -> (K, out, 1, ny, 1)
            return t[:, :, None, :, None]

        def xs(t: Tensor) -> Tensor:  # (K, out, nx) -> (K, 1, out, 1, nx)
            return t[:, None, :, None, :]

        base = ys((rois[idx, 0].long() * h * w)[:, None, None])
        rows = torch.stack(
            [
                base + ys(ylo) * w + xs(xlo),
                base + ys(ylo) * w + xs(xhi),
                base + ys(yhi) * w + xs(xlo),
                base + ys(yhi) * w + xs(xhi),
            ],
            -1,
        )
        weights = torch.stack([ys(wy0) * xs(wx0), ys(wy0) * xs(wx1), ys(wy1) * xs(wx0), ys(wy1) * xs(wx1)], -1)
        weights = weights / (ny * nx)
        k = idx.numel()
        bags = F.embedding_bag(
            rows.reshape(k * out * out, -1),
            table,
            per_sample_weights=weights.expand_as(rows).reshape(k * out * out, -1),
            mode="sum",
        )
        result[idx] = bags.view(k, out, out, c)
    return result.permute(0, 3, 1, 2)


class NHWCRoIAlign(torch.nn.Module):
    """Stands in for one ``mmcv.ops.RoIAlign`` (7x7, adaptive grid, aligned) in ``--end-to-end``."""

    def __init__(self, layer: torch.nn.Module) -> None:
        super().__init__()
        self.output_size, self.spatial_scale = layer.output_size, layer.spatial_scale

    def forward(self, feat: Tensor, rois: Tensor) -> Tensor:
        return roi_align_nhwc(feat, rois, 7, self.spatial_scale)


def end_to_end(model, data: dict, repeats: int) -> None:
    """``benchmark_cascade.py infer``'s figures with mmcv's RoIAlign, then with the NHWC one swapped
    into the model's RoI extractors (same process, before anything else runs)."""
    for kernel in ("mmcv", "nhwc"):
        if kernel == "nhwc":
            for extractor in model.roi_head.bbox_roi_extractor:
                extractor.roi_layers = torch.nn.ModuleList(NHWCRoIAlign(layer) for layer in extractor.roi_layers)
        total, dense = infer_timings(model, data, repeats)
        print(
            f"{kernel:>5}: end to end {total:.3f} s, dense layers {dense:.3f} s, ratio {total / dense:.3f} "
            "(target <= 1.15)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--end-to-end", action="store_true", help="also time predict() with it swapped in")
    parser.add_argument("--channels-last", action="store_true", help="the detector's channels_last option")
    args = parser.parse_args()
    register_all_modules()
    torch.manual_seed(0)
    model = build(channels_last=args.channels_last).eval()
    data = image_batch(model)
    feats, rois, levels = proposal_rois(model, data)
    extractor = model.roi_head.bbox_roi_extractor[0]
    work = [
        (f, layer, rois[levels == i], 1.0 / s)
        for i, (f, layer, s) in enumerate(zip(feats, extractor.roi_layers, extractor.featmap_strides))
        if bool((levels == i).any())
    ]
    per_level = torch.bincount(levels, minlength=extractor.num_inputs).tolist()
    print(f"{len(rois)} RoIs per level: {per_level}; threads: {torch.get_num_threads()}")
    if args.end_to_end:  # first, while the process is fresh; ``work`` keeps mmcv's layers
        end_to_end(model, data, max(args.repeats, 5))

    def run(kernel: str, backward: bool) -> list[Tensor]:
        outs = []
        for f, layer, r, scale in work:
            f = f.detach().requires_grad_(backward)
            o = layer(f.contiguous(), r) if kernel == "mmcv" else roi_align_nhwc(f, r, 7, scale)
            if backward:
                o.sum().backward()
            outs.append(o.detach())
        return outs

    diff = max(float((a - b).abs().max()) for a, b in zip(run("mmcv", False), run("nhwc", False)))
    for kernel in ("mmcv", "nhwc"):
        with torch.no_grad():
            fwd = statistics.median(timed(lambda k=kernel: run(k, False), args.repeats))
        both = statistics.median(timed(lambda k=kernel: run(k, True), args.repeats))
        print(f"{kernel:>5}: forward {fwd:.3f} s, forward + backward {both:.3f} s (median of {args.repeats})")
    print(f"largest |mmcv - nhwc| over all pooled values: {diff:.2e}")


if __name__ == "__main__":
    main()
