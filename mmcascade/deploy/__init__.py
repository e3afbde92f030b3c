"""Deployment: export a detector to one ONNX file (:func:`export_onnx`) and run it in ONNX
Runtime or OpenVINO behind the same model interface (:class:`BackendDetector`)."""

from .backend_detector import BackendDetector, BackendMismatchError
from .export import ExportError, ExportReport, export_onnx
from .graph import DetectorGraph
from .runtimes import BACKENDS, MissingDeployPackageError, Runtime, read_metadata

__all__ = [
    "BACKENDS",
    "BackendDetector",
    "BackendMismatchError",
    "DetectorGraph",
    "ExportError",
    "ExportReport",
    "MissingDeployPackageError",
    "Runtime",
    "export_onnx",
    "read_metadata",
]
