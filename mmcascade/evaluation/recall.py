"""Proposal recall: how many ground-truth boxes the first N proposals of each image find, each
proposal matched to one box at most (MMDetection's ``eval_recalls`` and ``proposal_fast``)."""

from collections.abc import Sequence

import numpy as np
import torch
from mmengine.logging import print_log

from mmcascade.structures import bbox_overlaps


def _as_list(values: int | float | Sequence | np.ndarray | None, default: Sequence) -> np.ndarray:
    if values is None:
        return np.asarray(default)
    return np.atleast_1d(np.asarray(values))


def box_ious(boxes1: np.ndarray, boxes2: np.ndarray, legacy: bool) -> np.ndarray:
    """``(M, N)`` float32 IoU of ``(M, 4)`` and ``(N, 4)`` xyxy boxes; ``legacy`` counts pixels
    inclusively (``w = x2 - x1 + 1``), as Pascal VOC and MMDetection 1.x boxes do."""
    a = torch.as_tensor(np.asarray(boxes1, np.float32).reshape(-1, 4))
    b = torch.as_tensor(np.asarray(boxes2, np.float32).reshape(-1, 4))
    if legacy:
        a, b = a + a.new_tensor([0, 0, 1, 1]), b + b.new_tensor([0, 0, 1, 1])
    return bbox_overlaps(a, b).numpy()


def greedy_matched_ious(ious: np.ndarray) -> np.ndarray:
    """``(G,)``: the IoUs of the matched (box, proposal) pairs in the order matched: the
    highest-IoU pair first, then the highest among the boxes and proposals left, and so on; a
    box left without a proposal adds -1 (no proposals at all: zeros). Recall counts how many
    of them reach a threshold."""
    if ious.size == 0:
        return np.zeros(ious.shape[0], dtype=np.float32)
    ious = ious.copy()
    matched = np.empty(ious.shape[0], dtype=np.float32)
    for step in range(ious.shape[0]):
        # the first maximum in row-major order: the lowest box index, then the lowest proposal
        row, col = np.unravel_index(int(ious.argmax()), ious.shape)
        matched[step] = ious[row, col]
        ious[row, :] = -1
        ious[:, col] = -1
    return matched


def eval_recalls(
    gts: Sequence[np.ndarray],
    proposals: Sequence[np.ndarray],
    proposal_nums: int | Sequence[int] | None = None,
    iou_thrs: float | Sequence[float] | None = 0.5,
    logger: object | None = None,
    use_legacy_coordinate: bool = False,
) -> np.ndarray:
    """Recall of the first ``N`` proposals at each IoU threshold, over all images.

    Args:
        gts: per image ``(G_i, 4)`` ground-truth boxes, xyxy pixels.
        proposals: per image ``(P_i, 4)`` proposals in rank order, or ``(P_i, 5)`` with a score
            column (then ranked by score, highest first).
        proposal_nums: the ``N``s (default: all proposals).
        iou_thrs: IoU thresholds (default 0.5).
        logger: where the recall table goes (``None``: printed; ``'silent'``: nowhere).
        use_legacy_coordinate: widths ``x2 - x1 + 1`` (MMDetection 1.x boxes).

    Returns:
        ``(len(proposal_nums), len(iou_thrs))`` recalls; NaN where there is no ground truth.
    """
    if len(gts) != len(proposals):
        raise ValueError(f"eval_recalls: {len(gts)} images of ground truth but {len(proposals)} of proposals")
    ranked = [_ranked(p) for p in proposals]
    nums = _as_list(proposal_nums, [max([len(p) for p in ranked] + [1])]).astype(int)
    thrs = _as_list(iou_thrs, [0.5]).astype(float)
    ious = [box_ious(g, p[: int(nums.max())], use_legacy_coordinate) for g, p in zip(gts, ranked)]
    total = sum(i.shape[0] for i in ious)
    recalls = np.empty((len(nums), len(thrs)))
    for k, num in enumerate(nums):
        matched = np.concatenate([greedy_matched_ious(i[:, :num]) for i in ious] + [np.zeros(0, np.float32)])
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls[k] = [(matched >= t).sum() / float(total) for t in thrs]
    if logger != "silent":
        rows = ["Proposals " + " ".join(f"IoU {t:.2f}" for t in thrs)]
        rows += [f"{n:>9d} " + " ".join(f"{r:8.3f}" for r in row) for n, row in zip(nums, recalls)]
        print_log("\n" + "\n".join(rows), logger=logger)
    return recalls


def _ranked(proposals: np.ndarray) -> np.ndarray:
    proposals = np.asarray(proposals, dtype=np.float32)
    if proposals.ndim == 2 and proposals.shape[1] == 5:
        proposals = proposals[np.argsort(proposals[:, 4])[::-1]]
    return proposals[:, :4] if proposals.ndim == 2 else proposals.reshape(-1, 4)


__all__ = ["box_ious", "eval_recalls", "greedy_matched_ious"]
