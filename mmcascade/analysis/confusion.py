"""Confusion matrix of detections against ground truth (rows: true class, columns: predicted
class, the last row / column is background)."""

from collections.abc import Sequence

import numpy as np

from mmcascade.structures import bbox_overlaps


def image_confusion(
    gt_boxes: np.ndarray,
    gt_labels: np.ndarray,
    det_boxes: np.ndarray,
    det_labels: np.ndarray,
    num_classes: int,
    tp_iou_thr: float = 0.5,
) -> np.ndarray:
    """``(C + 1, C + 1)`` int64 counts for one image.

    Every (ground truth, detection) pair with IoU >= ``tp_iou_thr`` adds one at
    [true class, predicted class]; a ground truth that no detection overlaps adds one at
    [true class, background] (missed); a detection that overlaps no ground truth adds one at
    [background, predicted class] (false positive). Boxes are ``(N, 4)`` xyxy.
    """
    import torch

    matrix = np.zeros((num_classes + 1, num_classes + 1), np.int64)
    if len(gt_boxes) and len(det_boxes):
        ious = bbox_overlaps(
            torch.as_tensor(det_boxes, dtype=torch.float32), torch.as_tensor(gt_boxes, dtype=torch.float32)
        ).numpy()
    else:
        ious = np.zeros((len(det_boxes), len(gt_boxes)), np.float32)
    hits = ious >= tp_iou_thr
    for g, gt_label in enumerate(gt_labels):
        matched = np.nonzero(hits[:, g])[0]
        if matched.size == 0:
            matrix[gt_label, num_classes] += 1
        for d in matched:
            matrix[gt_label, det_labels[d]] += 1
    for d in np.nonzero(~hits.any(axis=1))[0]:
        matrix[num_classes, det_labels[d]] += 1
    return matrix


def plot_confusion(
    matrix: np.ndarray, class_names: Sequence[str], out_file: str, title: str = "normalised confusion matrix (%)"
) -> None:
    """Rows normalised to percent, with the raw counts' row totals in the labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(class_names) + ["background"]
    totals = matrix.sum(axis=1, keepdims=True)
    percent = np.where(totals > 0, 100.0 * matrix / np.maximum(totals, 1), 0.0)
    size = max(4.0, 0.55 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    im = ax.imshow(percent, cmap="Blues", vmin=0, vmax=100)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), [f"{n} ({int(t)})" for n, t in zip(names, totals[:, 0])])
    ax.set_xlabel("predicted")
    ax.set_ylabel("ground truth (count)")
    if len(names) <= 30:
        for i in range(len(names)):
            for j in range(len(names)):
                if percent[i, j] >= 0.5:
                    ax.text(
                        j,
                        i,
                        f"{percent[i, j]:.0f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if percent[i, j] > 50 else "black",
                    )
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
