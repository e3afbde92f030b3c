"""``mmcascade export --int8``: the detector exported, quantized to int8 and kept only when its AP
holds.

The steps, all in a temporary folder beside ``OUT`` (removed afterwards, whatever happens):
the float32 ONNX file (:func:`~mmcascade.deploy.export_onnx`, checked against PyTorch as
always), the calibration images' graph inputs (:mod:`.calibration`), NNCF's quantization into
an OpenVINO IR (:mod:`.openvino_int8`), then box (and mask) AP of the float32 and the int8 file
in OpenVINO on the first val images through the config's evaluator, both files in one pass over
the images (:mod:`.accuracy`). Only when
every drop is within ``max_ap_drop`` AP points does the IR (``OUT`` and the ``.bin`` beside it)
reach its name, with the calibration and the AP figures in its metadata.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from mmcascade.deploy import export_onnx, read_metadata
from mmcascade.deploy.contract import write_metadata
from mmcascade.deploy.export import DEFAULT_OPSET
from mmcascade.deploy.runtimes import require

from .accuracy import AccuracyGateError, ap_drop, ap_points, evaluate_exported
from .calibration import calibration_images, graph_feeds
from .openvino_int8 import QUANTIZED_TYPES, nncf_version, quantize_file, save_model


@dataclass(frozen=True)
class Int8Report:
    """What :func:`export_int8` wrote and measured.

    Attributes:
        path: the IR's ``.xml`` (its ``.bin`` beside it). seconds: the whole export.
        size_mb: the ``.bin``'s size. calib_images, eval_images: how many images were used.
        fp32_ap, int8_ap: box (and mask) AP points of each file on the eval images.
        ap_drop: ``fp32_ap - int8_ap`` per task.
    """

    path: str
    seconds: float
    size_mb: float
    calib_images: int
    eval_images: int
    fp32_ap: dict[str, float]
    int8_ap: dict[str, float]
    ap_drop: dict[str, float]


def check_int8_target(out: Path, overwrite: bool) -> None:
    """Refuse, before any work, an ``OUT`` that is not ``.xml``, an existing ``OUT`` or ``.bin``
    beside it (without ``overwrite``), or missing openvino / nncf / onnx / onnxruntime."""
    if out.suffix != ".xml":
        raise ValueError(
            f"{out}: an int8 export is an OpenVINO IR; the file name must end in .xml (a .bin goes beside it)"
        )
    for path in (out, out.with_suffix(".bin")):
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; choose another name or pass --overwrite")
    for name in ("onnx", "onnxruntime", "openvino", "nncf"):
        require(name)


def export_int8(
    model: torch.nn.Module,
    out: str | os.PathLike,
    calib: str | os.PathLike | None = None,
    calib_size: int = 100,
    max_ap_drop: float = 0.5,
    eval_size: int = 100,
    overwrite: bool = False,
    checkpoint: str | os.PathLike | None = None,
    opset: int = DEFAULT_OPSET,
) -> Int8Report:
    """Export ``model`` (as :func:`~mmcascade.apis.init_detector` returns it, on the CPU) to an
    int8 OpenVINO IR at ``out`` (``.xml``), kept only when its AP holds.

    Args:
        calib: calibration images: ``None`` / ``'val'`` / ``'test'`` / ``'train'`` (the config's
            dataset) or a folder of images. calib_size: how many (the first ones).
        max_ap_drop: the most AP points (0-100) box or mask AP may fall from the float32 file's.
        eval_size: how many of the val set's first images the gate evaluates.
        overwrite: replace an existing ``out``. checkpoint: recorded with its sha256.

    Raises:
        AccuracyGateError: the drop exceeds ``max_ap_drop`` (both APs named; nothing written).
        ExportError, FileExistsError, ValueError, MissingDeployPackageError: as
            :func:`~mmcascade.deploy.export_onnx`, or a bad calibration source.
    """
    out = Path(out)
    check_int8_target(out, overwrite)
    start = time.perf_counter()
    paths = calibration_images(model.cfg, calib, calib_size)  # a bad source is refused before the export
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.stem}.", suffix=".int8-part", dir=out.parent))
    try:
        fp32_file, int8_file = work / "fp32.onnx", work / "int8.xml"
        export_onnx(model, fp32_file, opset=opset, checkpoint=checkpoint)
        feeds = list(graph_feeds(model, paths))
        save_model(quantize_file(fp32_file, feeds), int8_file)
        metadata = read_metadata(fp32_file)
        write_metadata(int8_file, metadata)  # what the backends check, before the gate runs it
        (fp32, int8), evaluated = evaluate_exported(model.cfg, [fp32_file, int8_file], eval_size, "AP float32, int8")
        report = Int8Report(
            path=str(out),
            seconds=time.perf_counter() - start,
            size_mb=int8_file.with_suffix(".bin").stat().st_size / 2**20,
            calib_images=len(paths),
            eval_images=evaluated,
            fp32_ap=ap_points(fp32),
            int8_ap=ap_points(int8),
            ap_drop=ap_drop(fp32, int8),
        )
        _gate(report, max_ap_drop)
        metadata["quantization"] = _record(report, calib, max_ap_drop)
        write_metadata(int8_file, metadata)
        os.replace(int8_file.with_suffix(".bin"), out.with_suffix(".bin"))
        os.replace(int8_file, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return replace(report, seconds=time.perf_counter() - start)


def _gate(report: Int8Report, max_ap_drop: float) -> None:
    over = {task: drop for task, drop in report.ap_drop.items() if drop > max_ap_drop}
    if over:
        figures = "; ".join(
            f"{task} AP {report.fp32_ap[task]:.1f} float32 -> {report.int8_ap[task]:.1f} int8 (drop {drop:.2f})"
            for task, drop in report.ap_drop.items()
        )
        raise AccuracyGateError(
            f"int8 AP fell by more than --max-ap-drop {max_ap_drop} on {report.eval_images} val images: {figures}; "
            "nothing was written (more calibration images (--calib-size) may help, or allow a larger drop)"
        )


def _record(report: Int8Report, calib: Any, max_ap_drop: float) -> dict[str, Any]:
    """The ``quantization`` entry of the IR's metadata."""
    return dict(
        precision="int8",
        tool=f"nncf {nncf_version()}",
        quantized_types=list(QUANTIZED_TYPES),
        calibration=dict(source=str(calib) if calib is not None else "val", images=report.calib_images),
        evaluation=dict(
            images=report.eval_images,
            fp32_ap=report.fp32_ap,
            int8_ap=report.int8_ap,
            ap_drop=report.ap_drop,
            max_ap_drop=max_ap_drop,
        ),
    )
