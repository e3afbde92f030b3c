"""Post-training int8 quantization of an exported file with NNCF, into an OpenVINO model.

Only the layers that carry the arithmetic become int8: convolutions (the backbone, the FPN, the
RPN, the mask head), the mask head's deconvolution and the box heads' fully connected layers
(:data:`QUANTIZED_TYPES`). Everything between and after them stays float32: box decoding and
clipping, score arithmetic (softmax, sigmoid), NMS, RoIAlign, normalisation layers (GroupNorm),
top-k and the index arithmetic, so that coordinates and scores are not rounded to 256 levels.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from mmcascade.deploy.runtimes import require

QUANTIZED_TYPES = ("Convolution", "GroupConvolution", "ConvolutionBackpropData", "MatMul")
"""The OpenVINO operation types whose inputs NNCF quantizes; NNCF is told to leave every other type."""


def quantize_file(
    onnx_path: str | os.PathLike,
    feeds: Sequence[dict[str, np.ndarray]],
    quantized_types: Sequence[str] = QUANTIZED_TYPES,
) -> Any:
    """The exported ``.onnx`` read by OpenVINO and quantized by NNCF (default preset: symmetric
    weights, per channel; activations calibrated on ``feeds``, the graph inputs of the
    calibration images, all of them used), with only ``quantized_types`` quantized.

    Returns:
        the quantized ``openvino.Model`` (int8 weights, float32 elsewhere).
    """
    ov, nncf = require("openvino"), require("nncf")
    nncf.set_log_level(logging.ERROR)  # one line per operation left in float32 otherwise
    model = ov.Core().read_model(str(onnx_path))
    present = {op.get_type_name() for op in model.get_ops()}
    kept_float = sorted(present - set(quantized_types))
    return nncf.quantize(
        model,
        nncf.Dataset(list(feeds)),
        subset_size=len(feeds),
        ignored_scope=nncf.IgnoredScope(types=kept_float, validate=False),
    )


def save_model(model: Any, path: str | os.PathLike) -> None:
    """Write ``model`` as an OpenVINO IR (``path`` ``.xml`` and its ``.bin``), float32 constants
    kept as they are (no float16 compression)."""
    require("openvino").save_model(model, str(path), compress_to_fp16=False)


def nncf_version() -> str:
    return str(require("nncf").__version__)
