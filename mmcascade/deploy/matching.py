"""Pairing two runs' detections, and how far PyTorch agrees with itself.

Two runs of one detector (PyTorch and an exported file, or PyTorch on two memory layouts) list
the same detections, but not always in the same order (equal scores) and not always to the last
bit: where the RPN's scores nearly tie, rounding picks another proposal and a detection moves by
pixels. :func:`self_agreement` measures that movement for each detection on PyTorch's own runs
(the input moved by a few ulps, another memory layout); :func:`match_detections` then asks the
file for no more agreement than that, and names the first detection that differs by more.

Detections are dicts of numpy arrays: ``bboxes (D, 4)`` float32 xyxy (original-image pixels),
``scores (D,)``, ``labels (D,)`` and optionally ``batch_ids (D,)`` (the image).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .contract import ExportError

BOX_TOLERANCE = 1e-2  # pixels: the least box tolerance (float32 rounding of boxes of this size)
SCORE_TOLERANCE = 1e-4  # the least score tolerance
JITTER_FACTOR = 2.0
"""A detection may differ from PyTorch by this many times the most PyTorch's own runs differ."""
TYPICAL = 0.75
"""The quantile of the detections' movements (relative to box size) each detection is allowed."""
UNSTABLE_FRACTION = 0.25
"""A detection that moves in PyTorch's own runs by more than this fraction of its shorter side (or
is gone) is unstable: it may be missing from the file."""

Detections = Mapping[str, np.ndarray]


@dataclass
class Tolerance:
    """What :func:`match_detections` allows, per detection of the expected run.

    Attributes:
        box, score: ``(D,)`` tolerances (pixels, score units).
        unstable: ``(D,)`` bool, detections PyTorch itself does not reproduce; they may be absent.
        extras: detections of PyTorch's own other runs that the expected run lacks, each with
            ``box_tol`` / ``score_tol`` arrays: a detection of the file matching one is allowed.
        jitter_box, jitter_score: the largest movement of a stable detection in PyTorch's runs.
    """

    box: np.ndarray
    score: np.ndarray
    unstable: np.ndarray
    extras: list[dict[str, np.ndarray]] = field(default_factory=list)
    jitter_box: float = 0.0
    jitter_score: float = 0.0

    @classmethod
    def fixed(cls, n: int, box: float = BOX_TOLERANCE, score: float = SCORE_TOLERANCE) -> Tolerance:
        return cls(np.full(n, box), np.full(n, score), np.zeros(n, dtype=bool))


def _keys(dets: Detections) -> np.ndarray:
    """``(D, 2)`` (image, label) of each detection."""
    n = len(dets["scores"])
    images = dets.get("batch_ids")
    return np.stack([np.zeros(n, np.int64) if images is None else images, dets["labels"]], axis=1)


def nearest(expected: Detections, got: Detections) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each expected detection, the ``got`` detection of the same image and label with the
    nearest box: ``(index, box distance (largest coordinate difference, px), score difference)``;
    ``-1, inf, inf`` where ``got`` has none of that image and label."""
    n = len(expected["scores"])
    index, box, score = np.full(n, -1), np.full(n, np.inf), np.full(n, np.inf)
    if not len(got["scores"]):
        return index, box, score
    keys, got_keys = _keys(expected), _keys(got)
    for i in range(n):
        same = np.nonzero((got_keys == keys[i]).all(axis=1))[0]
        if same.size:
            dist = np.abs(got["bboxes"][same] - expected["bboxes"][i]).max(axis=1)
            k = int(np.argmin(dist))
            index[i], box[i] = same[k], dist[k]
            score[i] = abs(float(got["scores"][same[k]]) - float(expected["scores"][i]))
    return index, box, score


def pair(expected: Detections, got: Detections, tol: Tolerance) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Greedy pairing within ``tol``: ``(pairs, expected detections left, got detections left)``."""
    n_got = len(got["scores"])
    keys, got_keys = _keys(expected), _keys(got)
    used = np.zeros(n_got, dtype=bool)
    pairs, lone = [], []
    for i in range(len(expected["scores"])):
        box_diff = np.abs(got["bboxes"] - expected["bboxes"][i]).max(axis=1) if n_got else np.zeros(0)
        score_diff = np.abs(got["scores"] - expected["scores"][i])
        ok = ~used & (box_diff <= tol.box[i]) & (score_diff <= tol.score[i]) & (got_keys == keys[i]).all(axis=1)
        candidates = np.nonzero(ok)[0]
        if candidates.size:
            j = int(candidates[np.argmin(box_diff[candidates] + score_diff[candidates])])
            pairs.append((i, j))
            used[j] = True
        else:
            lone.append(i)
    return pairs, lone, [int(j) for j in np.nonzero(~used)[0]]


def self_agreement(reference: Detections, variants: Sequence[Detections], factor: float = JITTER_FACTOR) -> Tolerance:
    """The tolerance each detection of ``reference`` earns from PyTorch's own ``variants`` (the
    same model on the same image, rounded differently): ``factor`` times its largest movement or
    the image's typical movement (the :data:`TYPICAL` quantile, boxes relative to their size),
    whichever is more, and at least :data:`BOX_TOLERANCE` / :data:`SCORE_TOLERANCE`; unstable
    where it moves by more than :data:`UNSTABLE_FRACTION` of its shorter side or is gone."""
    n = len(reference["scores"])
    jitter_box, jitter_score = np.zeros(n), np.zeros(n)
    for variant in variants:
        _, box, score = nearest(reference, variant)
        jitter_box, jitter_score = np.maximum(jitter_box, box), np.maximum(jitter_score, score)
    sides = reference["bboxes"][:, 2:] - reference["bboxes"][:, :2] if n else np.zeros((0, 2))
    size = np.maximum(sides.max(axis=1) if n else np.zeros(0), 1.0)
    unstable = jitter_box > UNSTABLE_FRACTION * np.maximum(sides.min(axis=1) if n else np.zeros(0), 1.0)
    stable = ~unstable
    # what the image's detections typically move by (relative to their size), so that one whose
    # few draws happened to agree closely is not held to less
    typical_box = float(np.quantile(jitter_box[stable] / size[stable], TYPICAL)) if stable.any() else 0.0
    typical_score = float(np.quantile(jitter_score[stable], TYPICAL)) if stable.any() else 0.0
    # an unstable detection pairs as closely as a typical one (it may also be missing)
    own_box, own_score = np.where(stable, jitter_box, 0.0), np.where(stable, jitter_score, 0.0)
    tol = Tolerance(
        box=np.maximum(BOX_TOLERANCE, factor * np.maximum(own_box, typical_box * size)),
        score=np.maximum(SCORE_TOLERANCE, factor * np.maximum(own_score, typical_score)),
        unstable=unstable,
        jitter_box=float(jitter_box[stable].max(initial=0.0)),
        jitter_score=float(jitter_score[stable].max(initial=0.0)),
    )
    for variant in variants:  # detections PyTorch gives on one rounding but not the reference's
        _, _, lone = pair(reference, variant, tol)
        if lone:
            extra = {
                k: np.asarray(v)[lone] for k, v in variant.items() if k in ("bboxes", "scores", "labels", "batch_ids")
            }
            _, box, score = nearest(extra, reference)
            extra["box_tol"] = np.maximum(BOX_TOLERANCE, factor * box)
            extra["score_tol"] = np.maximum(SCORE_TOLERANCE, factor * score)
            tol.extras.append(extra)
    return tol


def _known_extra(got: Detections, j: int, tol: Tolerance) -> bool:
    """Whether ``got``'s detection ``j`` is one PyTorch itself gives on another rounding."""
    one = {k: np.asarray(v)[j : j + 1] for k, v in got.items() if k in ("bboxes", "scores", "labels", "batch_ids")}
    for extra in tol.extras:
        index, box, score = nearest(one, extra)
        if index[0] >= 0 and box[0] <= extra["box_tol"][index[0]] and score[0] <= extra["score_tol"][index[0]]:
            return True
    return False


def match_detections(
    expected: Detections,
    got: Detections,
    box_tol: float = BOX_TOLERANCE,
    score_tol: float = SCORE_TOLERANCE,
    cutoffs: Sequence[float] = (),
    tolerance: Tolerance | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pair each expected detection with the same detection in ``got``: same image and label,
    box and score within the tolerance (``tolerance``, per detection, from
    :func:`self_agreement`; otherwise ``box_tol`` px and ``score_tol`` for all). Detections
    whose scores differ by less than rounding may be listed in either order, so they are
    matched, not compared by position. A detection may be on one side only when its score is
    within the score tolerance of a cutoff (``score_thr``, or the last score ``max_per_img``
    keeps), when PyTorch itself does not reproduce it (unstable), or (for ``got``) when PyTorch
    gives it on another rounding.

    Returns:
        ``(expected indices, got indices)`` of the pairs.

    Raises:
        ExportError: a detection that PyTorch reproduces has no match (it is named).
    """
    tol = tolerance or Tolerance.fixed(len(expected["scores"]), box_tol, score_tol)
    near = max(score_tol, JITTER_FACTOR * tol.jitter_score)
    at_cutoff = lambda score: any(abs(float(score) - c) <= near for c in cutoffs)  # noqa: E731
    pairs, lone, extra = pair(expected, got, tol)
    for i in lone:
        if not (tol.unstable[i] or at_cutoff(expected["scores"][i])):
            raise ExportError(_unmatched(i, expected, got, tol))
    extra = [j for j in extra if not at_cutoff(got["scores"][j]) and not _known_extra(got, j, tol)]
    if extra:
        j = int(extra[0])
        raise ExportError(
            f"the exported file has {len(extra)} detection(s) PyTorch does not give, e.g. {_describe(got, j)}"
        )
    return np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64)


def _describe(dets: Detections, i: int) -> str:
    image = f"image {int(dets['batch_ids'][i])}, " if "batch_ids" in dets else ""
    return (
        f"{image}label {int(dets['labels'][i])}, score {float(dets['scores'][i]):.6f}, "
        f"box {np.round(dets['bboxes'][i], 3).tolist()}"
    )


def _unmatched(i: int, expected: Detections, got: Detections, tol: Tolerance) -> str:
    """Why expected detection ``i`` has no counterpart, with the nearest detection of ``got``."""
    text = (
        f"detection {i} of PyTorch ({_describe(expected, i)}) has no counterpart in the exported file "
        f"within {tol.box[i]:.3g} px and {tol.score[i]:.3g} in score"
    )
    if tol.jitter_box > 0 or tol.jitter_score > 0:
        text += " (twice what PyTorch's own runs differ by, at least 0.01 px and 1e-4)"
    if not len(got["scores"]):
        return text + "; the file has no detections"
    index, _, _ = nearest({k: np.asarray(v)[i : i + 1] for k, v in expected.items()}, got)
    if index[0] >= 0:
        return f"{text}; nearest: {_describe(got, int(index[0]))}"
    j = int(np.argmin(np.abs(got["bboxes"] - expected["bboxes"][i]).max(axis=1)))
    return f"{text}; none of that label in that image, nearest: {_describe(got, j)}"
