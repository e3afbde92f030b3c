"""Export a detector to one ONNX file and check it against PyTorch before keeping it.

:func:`export_onnx` traces :class:`~mmcascade.deploy.graph.DetectorGraph` (the model's own
modules) with ``torch.onnx.export``, stores the metadata the backends check (classes, test
settings, test pipeline, the checkpoint's sha256, mmcascade's version), runs the file once in
ONNX Runtime on a generated image beside PyTorch, and only then moves it to its name: a failed or
inexact export leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import os
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmcascade import __version__
from mmcascade.ops.onnx_export import MIN_OPSET, index_tie_order

from .graph import INPUT_NAMES, MASK_OUTPUT, DetectorGraph
from .runtimes import Runtime, require, write_metadata

DEFAULT_OPSET = 17
GRAPH_RCNN_KEYS = ("score_thr", "nms", "max_per_img")
"""``test_cfg.rcnn`` settings the graph holds; ``mask_thr_binary`` and ``mask_format`` apply
outside it (when masks are pasted) and may differ between export and use."""
BOX_TOLERANCE = 1e-2  # pixels
SCORE_TOLERANCE = 1e-4


class ExportError(RuntimeError):
    """The model cannot be exported, or the exported file does not reproduce PyTorch."""


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_onnx` wrote and measured.

    Attributes:
        path: the ``.onnx`` file. seconds: time to trace and write it. size_mb: its size.
        detections: detections of the check image PyTorch and ONNX Runtime have in common.
        box_diff, score_diff: largest difference between the two (pixels, score units).
        mask_diff: largest difference of the mask probabilities (mask models), else ``None``.
    """

    path: str
    seconds: float
    size_mb: float
    detections: int | None = None
    box_diff: float | None = None
    score_diff: float | None = None
    mask_diff: float | None = None


def to_plain(obj: Any) -> Any:
    """Configs as JSON-able values (tuples become lists)."""
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    return obj


def graph_test_cfg(test_cfg: Mapping) -> dict:
    """The part of a model's ``test_cfg`` an exported graph holds: all of ``rpn``, and ``rcnn``'s
    :data:`GRAPH_RCNN_KEYS`."""
    rcnn = {k: v for k, v in dict(test_cfg.get("rcnn") or {}).items() if k in GRAPH_RCNN_KEYS}
    return to_plain(dict(rpn=dict(test_cfg.get("rpn") or {}), rcnn=rcnn))


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_exportable(cfg: Config, model: torch.nn.Module) -> None:
    """Refuse, naming the reason, what one graph cannot hold."""
    from mmcascade.models.detectors.two_stage import TwoStageDetector

    name = Path(cfg.filename).name if cfg.filename else "this config"
    if "tta_model" in cfg:
        raise ExportError(
            f"{name}: its results come from test-time augmentation (tta_model: several scales and "
            "flips merged by NMS), which one graph does not hold; export the config it inherits "
            "from and run augmentations outside"
        )
    if not isinstance(model, TwoStageDetector):
        raise ExportError(f"{name}: model type {type(model).__name__} is not a two-stage detector mmcascade exports")


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


def graph_inputs(batch: torch.Tensor, metas: Sequence[Mapping]) -> dict[str, np.ndarray]:
    """The graph's inputs for a preprocessed batch: ``inputs``, ``img_shapes``, ``scale_factors``."""
    return {
        "inputs": batch.detach().cpu().float().numpy(),
        "img_shapes": np.array([m["img_shape"][:2] for m in metas], dtype=np.int64),
        "scale_factors": np.array([m["scale_factor"] for m in metas], dtype=np.float32),
    }


def example_batch(model: torch.nn.Module, batch_size: int, shape: tuple[int, int] | None) -> dict[str, np.ndarray]:
    """The check image (and, for a batch, smaller copies of it: a ragged batch) through the
    config's test pipeline and the model's data preprocessor; padded to ``shape`` when fixed."""
    from mmcascade.apis.inference import _test_pipeline, test_pipeline_steps

    pipeline = _test_pipeline(test_pipeline_steps(model.cfg), from_array=True)
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
            nearest = int(np.argmin(box_diff + score_diff)) if n_got else None
            raise ExportError(
                f"detection {i} of PyTorch (label {int(keys[0][i])}, score {float(expected['scores'][i]):.6f}, "
                f"box {np.round(expected['bboxes'][i], 3).tolist()}) has no counterpart in the exported "
                f"file within {box_tol} px and {score_tol}"
                + (
                    f"; nearest: label {int(got_keys[0][nearest])}, score {float(got['scores'][nearest]):.6f}, "
                    f"box {np.round(got['bboxes'][nearest], 3).tolist()}"
                    if nearest is not None
                    else ""
                )
            )
    extra = [j for j in np.nonzero(~used)[0] if not at_cutoff(got["scores"][j])]
    if extra:
        j = int(extra[0])
        raise ExportError(
            f"the exported file has {len(extra)} detection(s) PyTorch does not, e.g. label {int(got_keys[0][j])}, "
            f"score {float(got['scores'][j]):.6f}, box {np.round(got['bboxes'][j], 3).tolist()}"
        )
    return np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64)


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
    (:func:`~mmcascade.ops.onnx_export.index_tie_order`)."""
    with torch.no_grad(), index_tie_order():
        outs = graph(*(torch.from_numpy(feed[k]) for k in INPUT_NAMES))
    return {name: t.numpy() for name, t in zip(graph.output_names, outs)}


def export_onnx(
    config: str | os.PathLike | Config,
    checkpoint: str | os.PathLike | None,
    out: str | os.PathLike,
    opset: int = DEFAULT_OPSET,
    shape: tuple[int, int] | None = None,
    batch_size: int = 1,
    verify: bool = True,
    overwrite: bool = False,
    cfg_options: dict | None = None,
) -> ExportReport:
    """Export ``config`` with ``checkpoint`` to ``out`` (one ``.onnx`` file).

    Args:
        config: config file, ``Config`` or model-zoo name.
        checkpoint: weights (file, URL, zoo name); ``None``: random weights (for tests).
        opset: ONNX opset, at least 16 (RoiAlign's half-pixel mode).
        shape: ``(H, W)`` of a fixed input; ``None``: any height and width (dynamic axes).
        batch_size: images per run of the file (fixed).
        verify: run the file in ONNX Runtime beside PyTorch before keeping it.
        overwrite: replace an existing ``out``.

    Raises:
        ExportError: the model cannot be exported, or the file's detections differ from
            PyTorch's (count, image, class; boxes by more than 1e-2 px, scores by more than 1e-4).
        FileExistsError: ``out`` exists and ``overwrite`` is not set.
        MissingDeployPackageError: onnx (or ONNX Runtime, to verify) is not installed.
    """
    from mmcascade.apis.inference import config_class_names, init_detector, test_pipeline_steps
    from mmcascade.zoo.resolve import resolve_checkpoint

    out = Path(out)
    if out.suffix != ".onnx":
        raise ValueError(f"{out}: the file name must end in .onnx")
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; choose another name or pass --overwrite")
    if opset < MIN_OPSET:
        raise ValueError(f"opset {opset}: at least {MIN_OPSET} is needed (RoiAlign with half-pixel coordinates)")
    if batch_size < 1:
        raise ValueError(f"batch size {batch_size} must be at least 1")
    require("onnx")
    if verify:
        require("onnxruntime")
    ckpt_path = str(resolve_checkpoint(checkpoint)) if checkpoint is not None else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if checkpoint is None else "default")
        model = init_detector(config, ckpt_path, device="cpu", cfg_options=cfg_options)
    check_exportable(model.cfg, model)
    model.inference_dtype = "float32"  # bf16 autocast is a PyTorch setting; the file is float32
    graph = DetectorGraph(model, batch_size).eval()
    feed = example_batch(model, batch_size, shape)
    dynamic = {} if shape is not None else {"inputs": {2: "height", 3: "width"}}
    dynamic.update({name: {0: "detections"} for name in graph.output_names})
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    start = time.perf_counter()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on Python values it records
            torch.onnx.export(
                graph,
                tuple(torch.from_numpy(feed[k]) for k in INPUT_NAMES),
                str(part),
                input_names=list(INPUT_NAMES),
                output_names=list(graph.output_names),
                dynamic_axes=dynamic,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
        classes = model.dataset_meta.get("classes") or config_class_names(model.cfg)
        write_metadata(
            part,
            dict(
                mmcascade_version=__version__,
                config=Path(model.cfg.filename).name if model.cfg.filename else None,
                checkpoint=Path(ckpt_path).name if ckpt_path else None,
                checkpoint_sha256=sha256_of(ckpt_path) if ckpt_path else None,
                classes=list(classes) if classes else None,
                test_cfg=graph_test_cfg(model.test_cfg),
                test_pipeline=to_plain(test_pipeline_steps(model.cfg)),
                data_preprocessor=to_plain(model.cfg.model.get("data_preprocessor")),
                batch_size=batch_size,
                input_shape=list(shape) if shape else None,
                with_mask=bool(model.with_mask),
                opset=opset,
                outputs=list(graph.output_names),
            ),
        )
        seconds = time.perf_counter() - start
        report = ExportReport(str(out), seconds, part.stat().st_size / 2**20)
        if verify:
            expected = run_graph(graph, feed)
            rcnn = model.test_cfg["rcnn"]
            cutoffs = score_cutoffs(expected["scores"], expected["batch_ids"], rcnn["score_thr"], rcnn["max_per_img"])
            n, box, score, mask = compare_outputs(expected, Runtime(part, "onnxruntime")(feed), cutoffs)
            report = ExportReport(str(out), seconds, report.size_mb, n, box, score, mask)
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return report
