"""A server from a config and a checkpoint (or exported file): the model, what ``GET /model``
tells about it, and the application, for the ``serve`` tool and for uvicorn's worker processes."""

import json
import os
import os.path as osp
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI

from mmcascade.apis import init_detector
from mmcascade.deploy.contract import default_backend, is_exported_file
from mmcascade.zoo.download import sha256_of
from mmcascade.zoo.resolve import resolve_checkpoint

from .app import create_app
from .settings import ServeSettings

ENV = "MMCASCADE_SERVE"


def build_app(
    config: str,
    checkpoint: str,
    backend: str | None = None,
    device: str | None = None,
    settings: ServeSettings | None = None,
) -> FastAPI:
    """Load the model (as :func:`mmcascade.apis.init_detector` does) and build its server."""
    local = str(resolve_checkpoint(checkpoint)) if not is_exported_file(checkpoint) else checkpoint
    model = init_detector(config, local, device=device, backend=backend)
    chosen = backend or (default_backend(local) if is_exported_file(local) else "pytorch")
    info: dict[str, Any] = dict(
        config=osp.splitext(osp.basename(str(config)))[0],
        checkpoint=osp.basename(local),
        sha256=sha256_of(local),
        backend=chosen,
        device=str(device or ("cpu" if chosen != "pytorch" else next(model.parameters()).device)),
    )
    for weights in (osp.splitext(local)[0] + ".bin",) if local.endswith(".xml") else ():
        info["weights_sha256"] = sha256_of(weights)  # an OpenVINO IR keeps its weights beside it
    return create_app(model, settings, info)


def app_from_env() -> FastAPI:
    """The application described by ``$MMCASCADE_SERVE`` (JSON of :func:`build_app`'s arguments):
    what each of uvicorn's worker processes builds with ``--workers N``."""
    args = json.loads(os.environ[ENV])
    args["settings"] = ServeSettings(**args["settings"])
    return build_app(**args)


def env_for_workers(
    config: str, checkpoint: str, backend: str | None, device: str | None, settings: ServeSettings
) -> str:
    return json.dumps(
        dict(config=config, checkpoint=checkpoint, backend=backend, device=device, settings=asdict(settings))
    )
