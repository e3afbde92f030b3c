"""Export a built detector to one ONNX file and check it against PyTorch before keeping it.

:func:`export_onnx` traces :class:`~mmcascade.deploy.graph.DetectorGraph` (the model's own
modules) with ``torch.onnx.export``, stores the metadata the backends check
(:func:`~mmcascade.deploy.contract.write_metadata`), runs the file once in ONNX Runtime on a
generated image beside PyTorch (:mod:`~mmcascade.deploy.verify`), and only then moves it to its
name: a failed or inexact export leaves nothing behind. The model is built by the caller
(``mmcascade export`` builds it from a config and a checkpoint).
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mmcascade import __version__
from mmcascade.config.classes import config_class_names
from mmcascade.config.pipelines import test_pipeline_steps
from mmcascade.models.detectors.two_stage import TwoStageDetector
from mmcascade.ops.onnx_symbolic import MIN_OPSET
from mmcascade.zoo.download import sha256_of

from .contract import (
    INPUT_NAMES,
    ExportError,
    architecture,
    config_digest,
    graph_test_cfg,
    to_plain,
    write_metadata,
)
from .graph import DetectorGraph
from .runtimes import Runtime, require
from .verify import compare_outputs, example_batch, reference_runs, score_cutoffs

DEFAULT_OPSET = 17


@dataclass(frozen=True)
class ExportReport:
    """What :func:`export_onnx` wrote and measured.

    Attributes:
        path: the ``.onnx`` file. seconds: time to trace and write it. size_mb: its size.
        detections: detections of the check image PyTorch and ONNX Runtime have in common.
        box_diff, score_diff: largest difference between the two (pixels, score units).
        mask_diff: largest difference of the mask probabilities (mask models), else ``None``.
        torch_box_diff, torch_score_diff: the largest a stable detection moved between PyTorch's
            own runs rounded otherwise (channels-last; weights moved by rounding-size noise): each
            detection may differ in the file by twice its own or the image's typical movement,
            at least 1e-2 px and 1e-4 (:func:`~mmcascade.deploy.matching.self_agreement`).
    """

    path: str
    seconds: float
    size_mb: float
    detections: int | None = None
    box_diff: float | None = None
    score_diff: float | None = None
    mask_diff: float | None = None
    torch_box_diff: float | None = None
    torch_score_diff: float | None = None


def check_exportable(model: torch.nn.Module) -> None:
    """Refuse, naming the reason, what one graph cannot hold (``model.cfg``: its config)."""
    cfg = model.cfg
    name = Path(cfg.filename).name if cfg.filename else "this config"
    if "tta_model" in cfg:
        raise ExportError(
            f"{name}: its results come from test-time augmentation (tta_model: several scales and "
            "flips merged by NMS), which one graph does not hold; export the config it inherits "
            "from and run augmentations outside"
        )
    if not isinstance(model, TwoStageDetector):
        raise ExportError(f"{name}: model type {type(model).__name__} is not a two-stage detector mmcascade exports")


def check_export_target(out: Path, opset: int, batch_size: int, verify: bool, overwrite: bool) -> None:
    """Refuse, before any model is built or traced, what cannot be written: another suffix than
    ``.onnx``, an existing file (without ``overwrite``), an opset below 16, a batch below 1, or a
    missing ``onnx`` (and ``onnxruntime`` when verifying).

    Raises:
        ValueError, FileExistsError, MissingDeployPackageError.
    """
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


def export_metadata(
    model: torch.nn.Module, graph: DetectorGraph, checkpoint: str | None, shape: tuple[int, int] | None, opset: int
) -> dict[str, Any]:
    """What the file records of its source: version, config, checkpoint and its sha256, classes,
    the in-graph test settings, the test pipeline and preprocessor, batch, input shape, opset."""
    cfg = model.cfg
    classes = model.dataset_meta.get("classes") or config_class_names(cfg)
    return dict(
        mmcascade_version=__version__,
        config=Path(cfg.filename).name if cfg.filename else None,
        architecture=architecture(cfg.model),
        config_digest=config_digest(cfg.model),
        checkpoint=Path(checkpoint).name if checkpoint else None,
        checkpoint_sha256=sha256_of(checkpoint) if checkpoint else None,
        classes=list(classes) if classes else None,
        test_cfg=graph_test_cfg(model.test_cfg),
        test_pipeline=to_plain(test_pipeline_steps(cfg)),
        data_preprocessor=to_plain(cfg.model.get("data_preprocessor")),
        batch_size=graph.batch_size,
        input_shape=list(shape) if shape else None,
        with_mask=bool(model.with_mask),
        opset=opset,
        outputs=list(graph.output_names),
    )


def trace_to(path: Path, graph: DetectorGraph, feed: dict[str, np.ndarray], dynamic: bool, opset: int) -> None:
    """``torch.onnx.export`` of ``graph`` on ``feed`` to ``path`` (height and width dynamic when
    ``dynamic``; the detection count always)."""
    axes: dict[str, dict[int, str]] = {"inputs": {2: "height", 3: "width"}} if dynamic else {}
    axes.update({name: {0: "detections"} for name in graph.output_names})
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python values it records
        torch.onnx.export(
            graph,
            tuple(torch.from_numpy(feed[k]) for k in INPUT_NAMES),
            str(path),
            input_names=list(INPUT_NAMES),
            output_names=list(graph.output_names),
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )


def verify_file(path: Path, graph: DetectorGraph, feed: dict[str, np.ndarray], report: ExportReport) -> ExportReport:
    """``report`` with the file's agreement with PyTorch on ``feed`` (in ONNX Runtime) filled in.

    Raises:
        ExportError: a detection PyTorch reproduces itself has no counterpart on the other side
            (named).
    """
    expected, tolerance = reference_runs(graph, feed)
    rcnn = graph.detector.test_cfg["rcnn"]
    cutoffs = score_cutoffs(expected["scores"], expected["batch_ids"], rcnn["score_thr"], rcnn["max_per_img"])
    n, box, score, mask = compare_outputs(expected, Runtime(path, "onnxruntime")(feed), cutoffs, tolerance)
    return replace(
        report,
        detections=n,
        box_diff=box,
        score_diff=score,
        mask_diff=mask,
        torch_box_diff=tolerance.jitter_box,
        torch_score_diff=tolerance.jitter_score,
    )


def export_onnx(
    model: torch.nn.Module,
    out: str | os.PathLike,
    opset: int = DEFAULT_OPSET,
    shape: tuple[int, int] | None = None,
    batch_size: int = 1,
    verify: bool = True,
    overwrite: bool = False,
    checkpoint: str | os.PathLike | None = None,
) -> ExportReport:
    """Export a built detector to ``out`` (one ``.onnx`` file).

    Args:
        model: a two-stage detector with its weights, ``cfg`` and ``dataset_meta`` (as
            :func:`mmcascade.apis.init_detector` returns it), on the CPU.
        opset: ONNX opset, at least 16 (RoiAlign's half-pixel mode).
        shape: ``(H, W)`` of a fixed input; ``None``: any height and width (dynamic axes).
        batch_size: images per run of the file (fixed).
        verify: run the file in ONNX Runtime beside PyTorch before keeping it.
        overwrite: replace an existing ``out``.
        checkpoint: the local file the weights came from, recorded with its sha256.

    Raises:
        ExportError: the model cannot be exported, or the file's detections differ from
            PyTorch's (count, image, class; boxes by more than 1e-2 px, scores by more than 1e-4,
            or by more than twice what PyTorch's own runs differ by where that is more).
        FileExistsError: ``out`` exists and ``overwrite`` is not set.
        MissingDeployPackageError: onnx (or ONNX Runtime, to verify) is not installed.
    """
    out = Path(out)
    check_export_target(out, opset, batch_size, verify, overwrite)
    check_exportable(model)
    model.inference_dtype = "float32"  # bf16 autocast is a PyTorch setting; the file is float32
    graph = DetectorGraph(model, batch_size).eval()
    feed = example_batch(model, batch_size, shape)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = out.with_name(out.name + ".part")
    start = time.perf_counter()
    try:
        trace_to(part, graph, feed, shape is None, opset)
        write_metadata(part, export_metadata(model, graph, str(checkpoint) if checkpoint else None, shape, opset))
        report = ExportReport(str(out), time.perf_counter() - start, part.stat().st_size / 2**20)
        if verify:
            report = verify_file(part, graph, feed, report)
        os.replace(part, out)
    finally:
        part.unlink(missing_ok=True)
    return report
