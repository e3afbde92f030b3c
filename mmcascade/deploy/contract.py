"""The exported file's contract: its input and output names, what the graph holds of the test
settings, how packed test-pipeline items (through the data preprocessor) become its inputs, and
the metadata stored in the file.

The exporter writes by it, the backends (:class:`~mmcascade.deploy.backend_detector.BackendDetector`),
the check (:mod:`~mmcascade.deploy.verify`) and int8 calibration read by it; nothing here traces
or runs the detector.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mmengine.dataset import pseudo_collate

from .runtimes import require

EXPORTED_SUFFIXES = (".onnx", ".xml")
"""An exported model: one ONNX file (any runtime), or an OpenVINO IR (``.xml`` with its ``.bin``
beside it; what ``mmcascade export --int8`` writes, OpenVINO only)."""
METADATA_KEY = ("mmcascade", "metadata")
"""Where an OpenVINO IR keeps the metadata (its ``rt_info``), as one JSON text."""
INPUT_NAMES = ("inputs", "img_shapes", "scale_factors")
BOX_OUTPUTS = ("bboxes", "scores", "labels", "batch_ids")
MASK_OUTPUT = "mask_probs"
GRAPH_RCNN_KEYS = ("score_thr", "nms", "max_per_img")
"""``test_cfg.rcnn`` settings the graph holds; ``mask_thr_binary`` and ``mask_format`` apply
outside it (when masks are pasted) and may differ between export and use."""


class ExportError(RuntimeError):
    """The model cannot be exported, or the exported file does not reproduce PyTorch."""


def output_names(with_mask: bool) -> tuple[str, ...]:
    """The file's outputs, in order: :data:`BOX_OUTPUTS`, and :data:`MASK_OUTPUT` for mask models."""
    return BOX_OUTPUTS + ((MASK_OUTPUT,) if with_mask else ())


def architecture(model_cfg: Mapping) -> dict[str, Any]:
    """What a model config builds, read from the dict alone: detector, backbone (type and depth),
    neck, RoI head, number of stages and whether it has a mask branch. Two configs of one
    architecture may still differ in settings; the exported file records :func:`config_digest`
    for those."""
    backbone = dict(model_cfg.get("backbone") or {})
    neck = model_cfg.get("neck") or {}
    roi = dict(model_cfg.get("roi_head") or {})
    heads = roi.get("bbox_head")
    stages = roi.get("num_stages", len(heads) if isinstance(heads, (list, tuple)) else 1)
    return dict(
        detector=model_cfg.get("type"),
        backbone=f"{backbone.get('type')}{backbone.get('depth', '')}",
        neck=neck.get("type") if isinstance(neck, Mapping) else [n.get("type") for n in neck],
        roi_head=roi.get("type"),
        num_stages=int(stages),
        with_mask=roi.get("mask_head") is not None,
    )


def config_digest(model_cfg: Mapping) -> str:
    """sha256 (16 hex digits) of the model section as JSON, keys sorted: equal for equal settings."""
    text = json.dumps(to_plain(model_cfg), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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


def graph_inputs(batch: torch.Tensor, metas: Sequence[Mapping]) -> dict[str, np.ndarray]:
    """The graph's inputs for a preprocessed batch: ``inputs``, ``img_shapes``, ``scale_factors``."""
    return {
        "inputs": batch.detach().cpu().float().numpy(),
        "img_shapes": np.array([m["img_shape"][:2] for m in metas], dtype=np.int64),
        "scale_factors": np.array([m["scale_factor"] for m in metas], dtype=np.float32),
    }


def pipeline_feed(model: torch.nn.Module, packed: Sequence[Mapping]) -> dict[str, np.ndarray]:
    """The graph's inputs for items the test pipeline packed: collated and put through ``model``'s
    data preprocessor (normalised, padded to one batch), then :func:`graph_inputs`."""
    with torch.no_grad():
        data = model.data_preprocessor(pseudo_collate(list(packed)), False)
    return graph_inputs(data["inputs"], [s.metainfo for s in data["data_samples"]])


def is_exported_file(path: str | os.PathLike | None) -> bool:
    """Whether ``path`` names an exported model (:data:`EXPORTED_SUFFIXES`) rather than a checkpoint."""
    return path is not None and str(path).endswith(EXPORTED_SUFFIXES)


def default_backend(path: str | os.PathLike) -> str:
    """The runtime an exported file runs in when none is named: OpenVINO for an IR, else ONNX Runtime."""
    return "openvino" if str(path).endswith(".xml") else "onnxruntime"


def write_metadata(path: str | os.PathLike, metadata: Mapping[str, Any]) -> None:
    """Store ``metadata`` (JSON-able values) in the file, in place: an ONNX file's
    ``metadata_props`` (one entry per key), an OpenVINO IR's ``rt_info`` (:data:`METADATA_KEY`)."""
    if str(path).endswith(".xml"):
        ov = require("openvino")
        model = ov.Core().read_model(str(path))
        model.set_rt_info(json.dumps(dict(metadata)), list(METADATA_KEY))
        # written beside and moved into place: the model read maps the .bin it would overwrite
        xml, staged = Path(path), Path(f"{path}.part.xml")
        ov.save_model(model, str(staged), compress_to_fp16=False)
        del model
        os.replace(staged.with_suffix(".bin"), xml.with_suffix(".bin"))
        os.replace(staged, xml)
        return
    onnx = require("onnx")
    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.save(model, str(path))


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata :func:`write_metadata` stored (empty for a file exported elsewhere)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file")
    if str(path).endswith(".xml"):
        ov = require("openvino")
        try:
            model = ov.Core().read_model(str(path))
        except Exception as exc:  # openvino raises RuntimeError for a file that is not an IR
            raise ValueError(f"{path}: not an OpenVINO IR ({type(exc).__name__}: {str(exc)[:200]})") from None
        if not model.has_rt_info(list(METADATA_KEY)):
            return {}
        return json.loads(model.get_rt_info(list(METADATA_KEY)).astype(str))
    onnx = require("onnx")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and others for a file that is not ONNX
        raise ValueError(f"{path}: not an ONNX file ({type(exc).__name__}: {exc})") from None
    return {p.key: json.loads(p.value) for p in model.metadata_props}
