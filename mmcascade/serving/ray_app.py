"""The same server as a Ray Serve application, for more than one machine.

Each replica (a Ray actor, on any node of the cluster) builds the FastAPI application of
:func:`mmcascade.serving.loading.build_app` (same routes, answers, limits and batching as
``mmcascade serve``); Ray Serve's proxy spreads requests over the replicas. The config and the
checkpoint must be readable at the same path (or be a URL / zoo name) on every node.

Three ways to start it:

- ``mmcascade serve CONFIG CHECKPOINT --ray [--replicas N] [--ray-address auto]``;
- ``serve run mmcascade.serving.ray_app:app_builder config=CONFIG checkpoint=CHECKPOINT replicas=2``
  (Ray's own command; the arguments of :func:`app_builder`);
- from Python: ``serve.run(ray_application(config, checkpoint, num_replicas=2))``.
"""

import signal
import threading
from typing import Any

import ray
from fastapi import FastAPI
from ray import serve

from .loading import build_app
from .settings import ServeSettings

APP_NAME = "mmcascade"


def ray_application(
    config: str,
    checkpoint: str,
    backend: str | None = None,
    device: str | None = None,
    settings: ServeSettings | None = None,
    num_replicas: int = 1,
    num_cpus: float = 1.0,
) -> serve.Application:
    """A Ray Serve application of ``num_replicas`` replicas of the detector's server.

    Args:
        config, checkpoint, backend, device: as for ``mmcascade serve`` (:func:`build_app`).
        settings: limits and batching of each replica.
        num_replicas: replicas (each loads its own model).
        num_cpus: CPUs Ray reserves for each replica.
    """
    if num_replicas < 1 or num_cpus <= 0:
        raise ValueError(f"ray_application: num_replicas must be >= 1 and num_cpus > 0, got {num_replicas}, {num_cpus}")
    settings = settings or ServeSettings()

    def build() -> FastAPI:  # runs in each replica, after Ray has started it
        return build_app(config, checkpoint, backend, device, settings)

    deployment = serve.deployment(
        serve.ingress(build)(),
        name="Detector",
        num_replicas=num_replicas,
        ray_actor_options=dict(num_cpus=num_cpus),
        # enough requests in flight at each replica for its batcher to fill a batch
        max_ongoing_requests=max(8, 2 * settings.max_batch_size),
    )
    return deployment.bind()


def app_builder(args: dict[str, str]) -> serve.Application:
    """``serve run mmcascade.serving.ray_app:app_builder config=... checkpoint=...``: the keys are
    ``config``, ``checkpoint`` (required), ``backend``, ``device``, ``replicas``, ``num_cpus`` and
    any :class:`ServeSettings` field (``max_batch_size=8``...)."""
    args = dict(args)
    missing = [k for k in ("config", "checkpoint") if k not in args]
    if missing:
        raise ValueError(f"mmcascade's Ray Serve application needs {', '.join(missing)}= arguments")
    known = set(ServeSettings.__dataclass_fields__)
    own = {"config", "checkpoint", "backend", "device", "replicas", "num_cpus"}
    unknown = sorted(set(args) - known - own)
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown}: expected {sorted(own | known)}")
    types = {k: f.type for k, f in ServeSettings.__dataclass_fields__.items()}  # int or float
    settings = ServeSettings(**{k: types[k](v) for k, v in args.items() if k in known})
    return ray_application(
        args["config"],
        args["checkpoint"],
        args.get("backend"),
        args.get("device"),
        settings,
        num_replicas=int(args.get("replicas", 1)),
        num_cpus=float(args.get("num_cpus", 1.0)),
    )


def run_on_ray(app: serve.Application, address: str | None, host: str, port: int, **init: Any) -> None:
    """Serve ``app`` at ``http://host:port/`` until SIGINT / SIGTERM: on the Ray cluster at
    ``address`` (``auto``: the one this machine belongs to), or a local one started here when
    ``address`` is None; Serve and a local Ray are shut down on the way out."""
    ray.init(address=address, include_dashboard=False, **init)
    stop = threading.Event()
    try:
        serve.start(http_options=dict(host=host, port=port))
        serve.run(app, name=APP_NAME, route_prefix="/")
        for sig in (signal.SIGINT, signal.SIGTERM):  # after Ray's own handlers are in place
            signal.signal(sig, lambda *_: stop.set())
        print(f"[serve] Ray Serve application '{APP_NAME}' at http://{host}:{port}/", flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        if address is None:
            serve.shutdown()  # the local Ray instance goes with it
        else:
            serve.delete(APP_NAME)  # leave the cluster's other applications alone
        ray.shutdown()
