"""The HTTP application: FastAPI routes around one detector and one :class:`Batcher`."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from torch import nn

from mmcascade.apis import inference_detector, inference_sliced
from mmcascade.slicing.tiles import parse_slice_size

from .batcher import Batcher
from .codec import RequestError, decode_image, detections_json
from .metrics import Metrics
from .settings import ServeSettings

OPTIONS = ("score_thr", "max_dets", "slice")
ROUTES = ("/", "/health", "/model", "/metrics", "/predict")


def create_app(model: nn.Module, settings: ServeSettings | None = None, info: dict[str, Any] | None = None) -> FastAPI:
    """The server of ``model`` (anything :func:`mmcascade.apis.init_detector` returns).

    Args:
        settings: limits and batching (defaults: :class:`ServeSettings`).
        info: what ``GET /model`` tells besides the classes (config, backend, weights checksum).
    """
    settings = settings or ServeSettings()
    classes = list((getattr(model, "dataset_meta", None) or {}).get("classes") or [])
    about = dict(info or {}, classes=classes, settings=settings.__dict__)
    metrics = Metrics()
    batcher = Batcher(
        lambda images: inference_detector(model, images, batch_size=len(images)),
        settings.max_batch_size,
        settings.max_wait_ms,
        metrics,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        batcher.start()
        yield
        await batcher.stop()

    app = FastAPI(title="mmcascade", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.batcher = batcher
    app.state.metrics = metrics

    @app.middleware("http")
    async def count(request: Request, call_next: Callable) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        path = request.url.path if request.url.path in ROUTES else "other"  # bounded label values
        metrics.observe_request(path, response.status_code, time.perf_counter() - start)
        return response

    @app.get("/", response_class=HTMLResponse)
    async def page() -> str:
        return resources.files("mmcascade.serving").joinpath("static/index.html").read_text(encoding="utf-8")

    @app.get("/health")
    async def health() -> dict:
        return dict(status="ok")

    @app.get("/model")
    async def model_info() -> dict:
        return about

    @app.get("/metrics", response_class=PlainTextResponse)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type="text/plain; version=0.0.4")

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        try:
            return JSONResponse(dict(results=await _predict(request, model, batcher, settings, classes)))
        except RequestError as exc:
            return JSONResponse(dict(error=exc.reason), status_code=exc.status)

    return app


async def _predict(
    request: Request, model: nn.Module, batcher: Batcher, settings: ServeSettings, classes: list[str]
) -> list[dict]:
    """The answers to one ``POST /predict``, one per image, in order.

    Raises:
        RequestError: what is wrong with the request, or 504 when it is not answered in time.
    """
    named, options = await _read_request(request, settings)
    score_thr, max_dets, slice_size = _parse_options(options, settings)
    images = [decode_image(data, name, settings.max_bytes, settings.max_pixels) for name, data in named]
    if slice_size is not None:
        results = [
            await batcher.run_exclusive(lambda img=img: inference_sliced(model, img, slice_size)) for img in images
        ]
    else:
        try:
            results = await asyncio.wait_for(asyncio.gather(*batcher.submit(images)), settings.timeout_s)
        except asyncio.TimeoutError:
            raise RequestError(504, f"not answered within {settings.timeout_s:g} s (the server is busy)") from None
    return [detections_json(result, classes, score_thr, max_dets, name) for (name, _), result in zip(named, results)]


async def _read_request(request: Request, settings: ServeSettings) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """The images (``(name, bytes)``) and options (query string and form fields) of a request."""
    options = dict(request.query_params)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        try:
            form = await request.form(
                max_files=settings.max_images, max_fields=len(OPTIONS), max_part_size=settings.max_bytes
            )
        except (MultiPartException, HTTPException) as exc:  # starlette wraps the first in the second
            reason = str(getattr(exc, "detail", None) or exc)
            raise RequestError(413 if "exceed" in reason.lower() else 400, f"bad multipart body: {reason}") from None
        named = []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key != "file":
                    raise RequestError(422, f"unknown file field {key!r}: send images as the field 'file'")
                data = await value.read(settings.max_bytes + 1)
                named.append((value.filename or f"image {len(named)}", data))
            else:
                options[key] = value
        if not named:
            raise RequestError(400, "no image: send one or more files as the multipart field 'file'")
        return named, options
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > settings.max_bytes:
            raise RequestError(413, f"body of more than {settings.max_bytes} bytes, the limit")
    if not body:
        raise RequestError(400, "no image: send the image bytes as the body, or multipart field 'file'")
    return [("body", bytes(body))], options


def _parse_options(options: dict[str, str], settings: ServeSettings) -> tuple[float, int, tuple[int, int] | None]:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise RequestError(422, f"unknown option {unknown[0]!r}; the options are {', '.join(OPTIONS)}")
    try:
        score_thr = float(options.get("score_thr", 0.0))
        max_dets = int(options.get("max_dets", settings.default_max_dets))
        slice_size = parse_slice_size(options["slice"]) if options.get("slice") else None
    except ValueError as exc:
        raise RequestError(422, f"bad option value: {exc}") from None
    if not 0.0 <= score_thr <= 1.0 or max_dets < 1:
        raise RequestError(422, f"score_thr must be in [0, 1] and max_dets >= 1, got {score_thr}, {max_dets}")
    return score_thr, max_dets, slice_size
