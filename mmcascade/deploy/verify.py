"""The exporter's check: the file against PyTorch on a generated image, detections paired.

PyTorch runs the same graph (:class:`~mmcascade.deploy.graph.DetectorGraph`) with equal scores
ranked by index, as the runtimes rank them; detections are paired by image, label, box and score
rather than compared by position, and a detection within rounding of a score cutoff may be on one
side only. Anything else unpaired is a failure, named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
import torch
from mmengine.dataset import pseudo_collate

from mmcascade.config.pipelines import build_test_pipeline, test_pipeline_steps
from mmcascade.ops import index_tie_order

from .contract import INPUT_NAMES, MASK_OUTPUT, ExportError, graph_inputs
from .graph import DetectorGraph

BOX_TOLERANCE = 1e-2  # pixels
SCORE_TOLERANCE = 1e-4


def check_image() -> np.ndarray:
    """A generated ``(480, 640, 3)`` uint8 BGR test image (shapes on a gradient), the same every
    time: what the exporter's check runs on."""
    rng = np.random.default_rng(0)
    h, w = 480, 640
    ramp = np.linspace(40, 200, w, dtype=np.float32)[None, :, None]
    img = np.broadcast_to(ramp, (h, w, 3)).copy()
    img += rng.normal(0, 6, (h, w, 3)).astype(np.float32)
    img = img.clip(0, 255).astype(np.uint8)
    for _ in range(12):
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        x, y = int(rng.integers(0, w - 60)), int(rng.integers(0, h - 60))
        bw, bh = int(rng.integers(20, 200)), int(rng.integers(20, 160))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + bw, y + bh), color, -1)
        else:
            cv2.ellipse(img, (x + bw // 2, y + bh // 2), (bw // 2, bh // 2), 0, 0, 360, color, -1)
    return img


def example_batch(model: torch.nn.Module, batch_size: int, shape: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """The check image (and, for a batch, smaller copies of it: a ragged batch) through the
    config's test pipeline and the model's data preprocessor; padded to ``shape`` when fixed."""
    pipeline = build_test_pipeline(test_pipeline_steps(model.cfg), from_array=True)
    img = check_image()
    items = []
    for i in range(batch_size):
        scaled = img if i == 0 else cv2.resize(img, None, fx=1 - 0.15 * i, fy=1 - 0.1 * i)
        items.append(pipeline(dict(img=scaled, img_id=i)))
    data = model.data_preprocessor(pseudo_collate(items), False)
    feed = graph_inputs(data["inputs"], [s.metainfo for s in data["data_samples"]])
    if shape is not None:
        h, w = feed["inputs"].shape[-2:]
        if h > shape[0] or w > shape[1]:
            raise ExportError(
                f"--shape {shape[0]}x{shape[1]}: the test pipeline makes a {img.shape[0]}x{img.shape[1]} "
                f"image {h}x{w} (padded), larger than the fixed input; give a larger shape or a test "
                "pipeline that resizes to it"
            )
        padded = np.zeros((*feed["inputs"].shape[:2], *shape), dtype=np.float32)
        padded[..., :h, :w] = feed["inputs"]
        feed["inputs"] = padded
    return feed


def match_detections(
    expected: Mapping[str, np.ndarray],
    got: Mapping[str, np.ndarray],
    box_tol: float = BOX_TOLERANCE,
    score_tol: float = SCORE_TOLERANCE,
    cutoffs: Sequence[float] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Pair each expected detection with the same detection in ``got``: same image
    (``batch_ids`` when given) and label, box within ``box_tol`` px, score within ``score_tol``.
    Detections whose scores differ by less than two runtimes' rounding may be listed in either
    order, so they are matched, not compared by position; for the same reason a detection whose
    score is within ``score_tol`` of a cutoff (``score_thr``, or the last score kept by
    ``max_per_img``) may be on one side only.

    Args:
        expected, got: ``bboxes (D, 4)``, ``scores (D,)``, ``labels (D,)`` (and ``batch_ids``).
        cutoffs: the score cutoffs of the run.

    Returns:
        ``(expected indices, got indices)`` of the pairs.

    Raises:
        ExportError: a detection away from the cutoffs has no match (it is named).
    """
    n_exp, n_got = len(expected["scores"]), len(got["scores"])
    at_cutoff = lambda score: any(abs(float(score) - c) <= score_tol for c in cutoffs)  # noqa: E731
    keys = [expected["labels"], expected.get("batch_ids", np.zeros(n_exp, np.int64))]
    got_keys = [got["labels"], got.get("batch_ids", np.zeros(n_got, np.int64))]
    used = np.zeros(n_got, dtype=bool)
    pairs: list[tuple[int, int]] = []
    for i in range(n_exp):
        box_diff = np.abs(got["bboxes"] - expected["bboxes"][i]).max(axis=1) if n_got else np.zeros(0)
        score_diff = np.abs(got["scores"] - expected["scores"][i])
        ok = ~used & (box_diff <= box_tol) & (score_diff <= score_tol)
        for k_exp, k_got in zip(keys, got_keys):
            ok &= k_got == k_exp[i]
        candidates = np.nonzero(ok)[0]
        if candidates.size:
            j = int(candidates[np.argmin(box_diff[candidates] + score_diff[candidates])])
            pairs.append((i, j))
            used[j] = True
        elif not at_cutoff(expected["scores"][i]):
            raise ExportError(_unmatched(i, expected, got, box_diff + score_diff, box_tol, score_tol))
    extra = [j for j in np.nonzero(~used)[0] if not at_cutoff(got["scores"][j])]
    if extra:
        j = int(extra[0])
        raise ExportError(
            f"the exported file has {len(extra)} detection(s) PyTorch does not, e.g. label {int(got_keys[0][j])}, "
            f"score {float(got['scores'][j]):.6f}, box {np.round(got['bboxes'][j], 3).tolist()}"
        )
    return np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64)


def _unmatched(
    i: int,
    expected: Mapping[str, np.ndarray],
    got: Mapping[str, np.ndarray],
    distance: np.ndarray,
    box_tol: float,
    score_tol: float,
) -> str:
    """Why PyTorch's detection ``i`` has no counterpart, with the nearest detection of the file."""
    text = (
        f"detection {i} of PyTorch (label {int(expected['labels'][i])}, score {float(expected['scores'][i]):.6f}, "
        f"box {np.round(expected['bboxes'][i], 3).tolist()}) has no counterpart in the exported "
        f"file within {box_tol} px and {score_tol}"
    )
    if len(got["scores"]) == 0:
        return text
    j = int(np.argmin(distance))
    return (
        f"{text}; nearest: label {int(got['labels'][j])}, score {float(got['scores'][j]):.6f}, "
        f"box {np.round(got['bboxes'][j], 3).tolist()}"
    )


def score_cutoffs(scores: np.ndarray, batch_ids: np.ndarray | None, score_thr: float, max_per_img: int) -> list[float]:
    """The cutoffs of :func:`match_detections`: ``score_thr``, and each image's lowest score when
    it has ``max_per_img`` detections."""
    ids = np.zeros(len(scores), np.int64) if batch_ids is None else batch_ids
    cutoffs = [float(score_thr)]
    for image in np.unique(ids):
        mine = scores[ids == image]
        if max_per_img > 0 and len(mine) >= max_per_img:
            cutoffs.append(float(mine.min()))
    return cutoffs


def compare_outputs(
    expected: Mapping[str, np.ndarray], got: Mapping[str, np.ndarray], cutoffs: Sequence[float] = ()
) -> tuple[int, float, float, float | None]:
    """``(detections, box_diff, score_diff, mask_diff)`` of two runs of the graph over the
    detections :func:`match_detections` pairs.

    Raises:
        ExportError: as :func:`match_detections`.
    """
    ei, gi = match_detections(expected, got, cutoffs=cutoffs)
    if len(ei) == 0:
        return 0, 0.0, 0.0, (0.0 if MASK_OUTPUT in expected else None)
    box = float(np.abs(expected["bboxes"][ei] - got["bboxes"][gi]).max())
    score = float(np.abs(expected["scores"][ei] - got["scores"][gi]).max())
    mask = None
    if MASK_OUTPUT in expected:
        mask = float(np.abs(expected[MASK_OUTPUT][ei] - got[MASK_OUTPUT][gi]).max())
    return len(ei), box, score, mask


def run_graph(graph: DetectorGraph, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The graph's outputs computed by PyTorch, equal scores ranked by index as in the file
    (:func:`~mmcascade.ops.tracing.index_tie_order`)."""
    with torch.no_grad(), index_tie_order():
        outs = graph(*(torch.from_numpy(feed[k]) for k in INPUT_NAMES))
    return {name: t.numpy() for name, t in zip(graph.output_names, outs)}
