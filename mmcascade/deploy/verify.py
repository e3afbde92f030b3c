"""The exporter's check: the file against PyTorch on a generated image, detections paired.

PyTorch runs the same graph (:class:`~mmcascade.deploy.graph.DetectorGraph`) with equal scores
ranked by index, as the runtimes rank them, once as it is and again rounded otherwise (another
memory layout; rounding-size noise on every layer's weights): how far those runs agree sets each
detection's tolerance (:func:`~mmcascade.deploy.matching.self_agreement`).
Detections are paired by image, label, box and score rather than compared by position; a
detection PyTorch does not reproduce itself, or within rounding of a score cutoff, may be on one
side only. Anything else unpaired is a failure, named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
import torch
import torch.nn as nn
from torch import Tensor

from mmcascade.config.pipelines import build_test_pipeline, test_pipeline_steps
from mmcascade.ops import index_tie_order

from .contract import INPUT_NAMES, MASK_OUTPUT, ExportError, pipeline_feed
from .graph import DetectorGraph
from .matching import Tolerance, match_detections, self_agreement

ULP = float(np.finfo(np.float32).eps)
"""The rounding runs of :func:`run_graph` move each weight of a layer with ``n`` inputs per output
by ``sqrt(n)`` float32 ulps (relative, normal): as much as summing its ``n`` products in another
order moves each output."""
NOISE_RUNS = 3

__all__ = ["check_image", "compare_outputs", "example_batch", "match_detections", "reference_runs", "score_cutoffs"]


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
    feed = pipeline_feed(model, items)
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
    expected: Mapping[str, np.ndarray],
    got: Mapping[str, np.ndarray],
    cutoffs: Sequence[float] = (),
    tolerance: Tolerance | None = None,
) -> tuple[int, float, float, float | None]:
    """``(detections, box_diff, score_diff, mask_diff)`` of two runs of the graph over the
    detections :func:`~mmcascade.deploy.matching.match_detections` pairs.

    Raises:
        ExportError: as :func:`~mmcascade.deploy.matching.match_detections`.
    """
    ei, gi = match_detections(expected, got, cutoffs=cutoffs, tolerance=tolerance)
    if len(ei) == 0:
        return 0, 0.0, 0.0, (0.0 if MASK_OUTPUT in expected else None)
    box = float(np.abs(expected["bboxes"][ei] - got["bboxes"][gi]).max())
    score = float(np.abs(expected["scores"][ei] - got["scores"][gi]).max())
    mask = None
    if MASK_OUTPUT in expected:
        mask = float(np.abs(expected[MASK_OUTPUT][ei] - got[MASK_OUTPUT][gi]).max())
    return len(ei), box, score, mask


def run_graph(
    graph: DetectorGraph, feed: Mapping[str, np.ndarray], channels_last: bool = False, noise_seed: int | None = None
) -> dict[str, np.ndarray]:
    """The graph's outputs computed by PyTorch, equal scores ranked by index as in the file
    (:func:`~mmcascade.ops.tracing.index_tie_order`). ``channels_last``: weights and input in
    that memory layout (other kernels, other rounding); ``noise_seed``: every convolution's and
    linear layer's weights moved by rounding-size noise (:data:`ULP`), which moves each sum
    as much as another runtime's order of summation does. The graph is put back
    afterwards."""
    inputs = [torch.from_numpy(feed[k]) for k in INPUT_NAMES]
    saved: list[tuple[Tensor, Tensor]] = []
    if channels_last:
        graph.to(memory_format=torch.channels_last)
        inputs[0] = inputs[0].contiguous(memory_format=torch.channels_last)
    if noise_seed is not None:
        generator = torch.Generator().manual_seed(noise_seed)
        for layer in graph.modules():
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                weight = layer.weight.data
                saved.append((weight, weight.clone()))
                sigma = ULP * weight[0].numel() ** 0.5  # a sum of n products carries about sqrt(n) ulps
                weight.mul_(1 + sigma * torch.randn(weight.shape, generator=generator))
    try:
        with torch.no_grad(), index_tie_order():
            outs = graph(*inputs)
    finally:
        for weight, original in saved:
            weight.copy_(original)
        if channels_last:
            graph.to(memory_format=torch.contiguous_format)
    return {name: t.numpy() for name, t in zip(graph.output_names, outs)}


def reference_runs(graph: DetectorGraph, feed: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], Tolerance]:
    """PyTorch's outputs on ``feed``, and the tolerance of each detection from PyTorch's own
    runs rounded otherwise: the channels-last layout, and :data:`NOISE_RUNS` runs with
    rounding-size noise on every layer's weights."""
    expected = run_graph(graph, feed)
    variants = [run_graph(graph, feed, channels_last=True)]
    variants += [run_graph(graph, feed, noise_seed=seed) for seed in range(NOISE_RUNS)]
    return expected, self_agreement(expected, variants)
