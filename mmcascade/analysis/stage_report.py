"""Evaluate the per-stage detections with COCOeval and draw the localisation plots."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from terminaltables import AsciiTable

from mmcascade.evaluation.coco_eval import det_results_to_json, load_coco, run_cocoeval

IOU_THRS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
INPUT_BINS = np.round(np.arange(0.5, 1.0001, 0.05), 2)  # the papers' x-axis: input IoU 0.5 .. 1.0


@dataclass(frozen=True)
class StageAP:
    name: str
    ap: float  # COCO AP (mean over IoU 0.50:0.95), percent
    per_iou: list[tuple[float, float]]  # (IoU threshold, AP percent)

    def at(self, thr: float) -> float:
        return dict(self.per_iou)[round(thr, 2)]


def evaluate_variants(
    ann_file: str, results: dict[str, list[dict]], cat_ids: Sequence[int], img_ids: Sequence[int]
) -> list[StageAP]:
    """COCO box AP of each variant. ``results[name]`` holds per-image dicts with ``img_id``,
    ``bboxes (N, 4)``, ``scores (N,)``, ``labels (N,)`` (original-image pixels)."""
    coco = load_coco(ann_file)
    rows = []
    for name, per_image in results.items():
        dets, _ = det_results_to_json(per_image, cat_ids)
        res = run_cocoeval(coco, dets, "bbox", cat_ids, img_ids, iou_thrs=IOU_THRS)
        rows.append(StageAP(name, 100 * float(res.stats[0]), [(t, 100 * ap) for t, ap in res.per_iou]))
    return rows


def stage_table(rows: list[StageAP]) -> str:
    """The stage-performance table: AP, then AP at each IoU threshold 0.50 ... 0.95."""
    header = ["test stage", "AP"] + [f"AP{int(round(t * 100))}" for t in IOU_THRS]
    body = [[r.name, f"{r.ap:.1f}"] + [f"{ap:.1f}" for _, ap in r.per_iou] for r in rows]
    table = AsciiTable([header] + body, title=" box AP (%) per cascade stage ")
    table.inner_footing_row_border = False
    return table.table


@dataclass(frozen=True)
class RegressionCurve:
    bin_centres: np.ndarray  # (B,) input IoU
    mean_out: np.ndarray  # (B,) mean output IoU, NaN where a bin has fewer than min_count RoIs
    counts: np.ndarray  # (B,) RoIs per bin


def regression_curve(pairs: np.ndarray, min_count: int = 5) -> RegressionCurve:
    """Mean output IoU per input-IoU bin (0.50-0.55, ..., 0.95-1.00) from ``(K, 2)`` pairs."""
    edges = INPUT_BINS
    idx = np.digitize(pairs[:, 0], edges) - 1
    centres = (edges[:-1] + edges[1:]) / 2
    means = np.full(len(centres), np.nan)
    counts = np.zeros(len(centres), int)
    for b in range(len(centres)):
        sel = pairs[idx == b, 1]
        counts[b] = sel.size
        if sel.size >= min_count:
            means[b] = float(sel.mean())
    return RegressionCurve(centres, means, counts)


def plot_iou_distribution(stage_pairs: list[np.ndarray], out_file: str) -> None:
    """Histogram of the RoIs' input IoU (>= 0.5) per stage, with the counts above 0.5/0.6/0.7."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(stage_pairs)
    fig, axes = plt.subplots(1, n, figsize=(4.2 * n, 3.4), sharey=True, squeeze=False)
    for s, (ax, pairs) in enumerate(zip(axes[0], stage_pairs)):
        ious = pairs[:, 0]
        ax.hist(ious[ious >= 0.5], bins=INPUT_BINS, color=f"C{s}", edgecolor="white")
        counts = ", ".join(f"≥{t}: {int((ious >= t).sum())}" for t in (0.5, 0.6, 0.7))
        ax.set_title(f"RoIs entering stage {s + 1}\n{counts}", fontsize=9)
        ax.set_xlabel("IoU with ground truth")
    axes[0, 0].set_ylabel("number of RoIs")
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def plot_regression_curves(curves: list[RegressionCurve], out_file: str) -> None:
    """Output IoU against input IoU for each stage's regressor, with the diagonal (no change)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4.4))
    ax.plot([0.5, 1.0], [0.5, 1.0], color="grey", linestyle="--", label="baseline (no regression)")
    for s, curve in enumerate(curves):
        ax.plot(curve.bin_centres, curve.mean_out, marker="o", color=f"C{s}", label=f"stage {s + 1} regressor")
    ax.set_xlim(0.5, 1.0)
    ax.set_ylim(0.5, 1.0)
    ax.set_xlabel("input IoU")
    ax.set_ylabel("output IoU")
    ax.set_title("localisation by stage")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
