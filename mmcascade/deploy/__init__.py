"""Deployment: export a built detector to one ONNX file (:func:`export_onnx`) and run it in ONNX
Runtime or OpenVINO behind the same model interface (:class:`BackendDetector`).

``graph`` (the traceable detector), ``contract`` (the file's inputs, outputs and metadata),
``export`` (tracing and writing), ``verify`` (the file against PyTorch), ``runtimes`` and
``backend_detector`` (running it)."""

from .backend_detector import BackendDetector, BackendMismatchError
from .contract import ExportError, read_metadata
from .export import ExportReport, check_export_target, export_onnx
from .graph import DetectorGraph
from .runtimes import BACKENDS, MissingDeployPackageError, Runtime

__all__ = [
    "BACKENDS",
    "BackendDetector",
    "BackendMismatchError",
    "DetectorGraph",
    "ExportError",
    "ExportReport",
    "MissingDeployPackageError",
    "Runtime",
    "check_export_target",
    "export_onnx",
    "read_metadata",
]
