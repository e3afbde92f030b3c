"""The runtimes that execute an exported file (ONNX Runtime, OpenVINO) behind one call.

Both come with ``pip install "mmcascade[deploy]"``; without them the functions here say which
extra to install instead of failing on an import.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import numpy as np

BACKENDS = ("onnxruntime", "openvino")
EXTRA = 'pip install "mmcascade[deploy]"'
_PACKAGES = {"onnx": "onnx", "onnxruntime": "onnxruntime", "openvino": "openvino", "nncf": "nncf"}


class MissingDeployPackageError(ImportError):
    """A package of the ``deploy`` extra is not installed."""


def require(name: str) -> ModuleType:
    """Import ``onnx``, ``onnxruntime``, ``openvino`` or ``nncf``, or raise naming the extra to install."""
    try:
        return importlib.import_module(_PACKAGES[name])
    except ImportError as exc:
        raise MissingDeployPackageError(
            f"{name} is not installed; exported models need the deploy extra: {EXTRA} "
            f"(onnx, onnxruntime, openvino, nncf) ({exc})"
        ) from None


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"backend {backend!r} is not one of {BACKENDS}")


def check_backend_file(path: str | os.PathLike, backend: str) -> None:
    """Refuse a file the runtime cannot read: an OpenVINO IR (``.xml``, an int8 export) outside OpenVINO.

    Raises:
        ValueError: naming the backend to use.
    """
    if str(path).endswith(".xml") and backend != "openvino":
        raise ValueError(f"{path} is an OpenVINO IR (an int8 export); it runs in OpenVINO (--backend openvino)")


class Runtime:
    """One exported file loaded by ``backend``; ``runtime(feed)`` maps input names to numpy
    arrays and returns the outputs by name.

    Args:
        path: the ``.onnx`` file, or an OpenVINO IR (``.xml``, OpenVINO only).
        backend: ``'onnxruntime'`` (CPU execution provider, all graph optimisations) or
            ``'openvino'`` (CPU plugin, float32 inference precision, latency hint).
        num_threads: threads of the runtime's operators; ``None``: the runtime's default (one
            per physical core).
    """

    def __init__(self, path: str | os.PathLike, backend: str = "onnxruntime", num_threads: int | None = None) -> None:
        check_backend(backend)
        check_backend_file(path, backend)
        self.path = str(path)
        self.backend = backend
        if backend == "onnxruntime":
            ort = require("onnxruntime")
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            if num_threads:
                options.intra_op_num_threads = int(num_threads)
            self._session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
            self.input_names = [i.name for i in self._session.get_inputs()]
            self.output_names = [o.name for o in self._session.get_outputs()]
        else:
            ov = require("openvino")
            config: dict[str, Any] = {"INFERENCE_PRECISION_HINT": "f32", "PERFORMANCE_HINT": "LATENCY"}
            if num_threads:
                config["INFERENCE_NUM_THREADS"] = int(num_threads)
            core = ov.Core()
            model = core.read_model(self.path)
            # names as the file declares them (compiled ports may carry extra internal names)
            self.input_names = [p.get_any_name() for p in model.inputs]
            self.output_names = [p.get_any_name() for p in model.outputs]
            self._compiled = core.compile_model(model, "CPU", config)

    def __call__(self, feed: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.backend == "onnxruntime":
            return dict(zip(self.output_names, self._session.run(None, dict(feed))))
        result = self._compiled([feed[name] for name in self.input_names])
        return {name: np.asarray(result[i]) for i, name in enumerate(self.output_names)}
