"""Serving a detector over HTTP: ``mmcascade serve CONFIG CHECKPOINT`` (FastAPI on uvicorn).

``create_app(model, settings)`` builds the application around any model ``init_detector``
returns (PyTorch, ONNX Runtime or OpenVINO): ``POST /predict``, ``GET /health``, ``GET /model``,
``GET /metrics`` (Prometheus text) and a page at ``/`` to try it. Requests arriving together are
run as one batch (:class:`Batcher`). Only :func:`create_app` needs the serve extra (fastapi), and
it is imported on first use."""

from typing import Any

from .batcher import Batcher
from .codec import RequestError, decode_image, detections_json
from .settings import ServeSettings

__all__ = ["Batcher", "RequestError", "ServeSettings", "create_app", "decode_image", "detections_json"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
