"""Serve a detector over HTTP: ``mmcascade serve CONFIG CHECKPOINT_OR_EXPORTED_FILE``.

    mmcascade serve CONFIG CHECKPOINT [--backend onnxruntime|openvino] [--device cpu]
        [--host 127.0.0.1] [--port 8000] [--workers 1] [--max-batch-size 4] [--max-wait-ms 10]
        [--max-bytes 20971520] [--max-pixels 50000000] [--max-images 16] [--timeout 60]
        [--ray [--replicas 2] [--ray-address auto] [--cpus-per-replica 1]]

``POST /predict`` (images as the multipart field ``file``, repeated for several, or one image as
the raw body; options ``score_thr``, ``max_dets``, ``slice`` in the query string or as form
fields), ``GET /health``, ``GET /model``, ``GET /metrics`` (Prometheus), and a page at ``/``.
Binds to 127.0.0.1 unless ``--host`` says otherwise. ``--ray`` runs the same server as a Ray Serve
application (replicas over a Ray cluster; a local Ray instance without ``--ray-address``).
"""

import argparse
import os

from mmcascade.serving.settings import ServeSettings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="config file, shipped config name or model-zoo name")
    parser.add_argument("checkpoint", help="checkpoint (file, URL or zoo name), or an exported .onnx / .xml file")
    parser.add_argument("--backend", choices=("onnxruntime", "openvino"), help="run an exported file in this runtime")
    parser.add_argument("--device", help="PyTorch device (default: cuda:0 when there is one, else cpu)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="server processes, each with its own model (default 1)")
    defaults = ServeSettings()
    parser.add_argument("--max-batch-size", type=int, default=defaults.max_batch_size, help="images per forward pass")
    parser.add_argument(
        "--max-wait-ms", type=float, default=defaults.max_wait_ms, help="how long a batch waits to fill"
    )
    parser.add_argument("--max-bytes", type=int, default=defaults.max_bytes, help="largest image file accepted")
    parser.add_argument("--max-pixels", type=int, default=defaults.max_pixels, help="largest image accepted (w x h)")
    parser.add_argument("--max-images", type=int, default=defaults.max_images, help="images per request at most")
    parser.add_argument("--timeout", type=float, default=defaults.timeout_s, help="seconds before a request gets 504")
    parser.add_argument("--log-level", default="info", help="uvicorn's log level")
    ray = parser.add_argument_group("Ray Serve (pip install 'ray[serve]')")
    ray.add_argument("--ray", action="store_true", help="serve as a Ray Serve application")
    ray.add_argument("--replicas", type=int, default=1, help="replicas, each with its own model (default 1)")
    ray.add_argument("--ray-address", help="Ray cluster to join ('auto': this machine's); default: start one here")
    ray.add_argument("--cpus-per-replica", type=float, default=1.0, help="CPUs Ray reserves per replica")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    try:
        import uvicorn

        from mmcascade.serving.loading import ENV, build_app, env_for_workers
    except ImportError as exc:
        raise SystemExit(
            f"mmcascade serve needs the serve extra ({exc}): pip install 'mmcascade[serve]' "
            "(fastapi, uvicorn, python-multipart)"
        ) from None
    try:
        settings = ServeSettings(
            max_batch_size=args.max_batch_size,
            max_wait_ms=args.max_wait_ms,
            max_bytes=args.max_bytes,
            max_pixels=args.max_pixels,
            max_images=args.max_images,
            timeout_s=args.timeout,
        )
    except ValueError as exc:
        raise SystemExit(f"mmcascade serve: {exc}") from None
    if args.ray:
        _serve_on_ray(args, settings)
        return
    if args.workers > 1:
        os.environ[ENV] = env_for_workers(args.config, args.checkpoint, args.backend, args.device, settings)
        uvicorn.run(
            "mmcascade.serving.loading:app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=args.log_level,
        )
        return
    app = build_app(args.config, args.checkpoint, args.backend, args.device, settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


def _serve_on_ray(args: argparse.Namespace, settings: ServeSettings) -> None:
    if args.workers != 1:
        raise SystemExit("mmcascade serve: --workers is uvicorn's; with --ray use --replicas")
    try:
        from mmcascade.serving.ray_app import ray_application, run_on_ray
    except ImportError as exc:
        raise SystemExit(f"mmcascade serve --ray needs Ray Serve ({exc}): pip install 'ray[serve]'") from None
    try:
        app = ray_application(
            args.config,
            args.checkpoint,
            args.backend,
            args.device,
            settings,
            num_replicas=args.replicas,
            num_cpus=args.cpus_per_replica,
        )
    except ValueError as exc:
        raise SystemExit(f"mmcascade serve: {exc}") from None
    run_on_ray(app, args.ray_address, args.host, args.port)


if __name__ == "__main__":
    main()
