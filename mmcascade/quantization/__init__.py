"""int8 deployment: an exported detector quantized after training (NNCF, OpenVINO IR), calibrated
on images through the config's test pipeline, and kept only when its AP is within a given drop of
the float32 file's on the same images (:func:`export_int8`).

``calibration`` (the images and the graph inputs they give), ``openvino_int8`` (NNCF's
quantization: which operations become int8), ``accuracy`` (AP of an exported file on the val
set: the gate), ``int8_export`` (the whole export, written only when the gate passes)."""

from .accuracy import AccuracyGateError, evaluate_exported
from .calibration import calibration_images
from .int8_export import Int8Report, check_int8_target, export_int8
from .openvino_int8 import QUANTIZED_TYPES

__all__ = [
    "QUANTIZED_TYPES",
    "AccuracyGateError",
    "Int8Report",
    "calibration_images",
    "check_int8_target",
    "evaluate_exported",
    "export_int8",
]
