"""Serving a detector over HTTP: ``mmcascade serve CONFIG CHECKPOINT`` (FastAPI on uvicorn).

``create_app(model, settings)`` builds the application around any model ``init_detector``
returns (PyTorch, ONNX Runtime or OpenVINO): ``POST /predict``, ``GET /health``, ``GET /model``,
``GET /metrics`` (Prometheus text) and a page at ``/`` to try it. Requests arriving together are
run as one batch (:class:`Batcher`)."""

from .app import create_app
from .batcher import Batcher
from .codec import RequestError, decode_image, detections_json
from .settings import ServeSettings

__all__ = ["Batcher", "RequestError", "ServeSettings", "create_app", "decode_image", "detections_json"]
