"""Load test of ``mmcascade serve`` on 127.0.0.1: N concurrent clients, a bounded number of requests.

    python benchmarks/serve_load.py [CONFIG [CHECKPOINT]] [--clients 4] [--requests 80] [--max-batch-size 4]
        [--backend openvino]

Without CHECKPOINT it serves CONFIG (default: the example model's) with seeded random weights
(speed only). Starts the server as a user would (``python -m mmcascade serve``, its own process),
sends ``--requests`` images (256x320 PNGs of filled shapes) from ``--clients`` threads, and prints
throughput, p50 / p99 latency, the batch sizes the server ran (from ``/metrics``), errors, and the
server's resident memory at the start and the end (``/proc``).
"""

import argparse
import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import httpx
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = "configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def scene(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    img = np.full((256, 320, 3), 90, np.uint8)
    for _ in range(5):
        x, y = int(rng.integers(10, 270)), int(rng.integers(10, 210))
        cv2.rectangle(img, (x, y), (x + 40, y + 30), tuple(int(c) for c in rng.integers(120, 255, 3)), -1)
    return cv2.imencode(".png", img)[1].tobytes()


def random_weights(config: str, path: str) -> str:
    import torch
    from mmengine.config import Config

    from mmcascade.registry import MODELS
    from mmcascade.utils import register_all_modules

    register_all_modules()
    torch.manual_seed(0)
    torch.save({"state_dict": MODELS.build(Config.fromfile(os.path.join(REPO, config)).model).state_dict()}, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?")
    parser.add_argument("checkpoint", nargs="?")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=80)
    parser.add_argument("--max-batch-size", type=int, default=4)
    parser.add_argument("--backend", choices=("onnxruntime", "openvino"))
    args = parser.parse_args()
    tmp = tempfile.mkdtemp()
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # weights, exports: hundreds of MB
    config = args.config or EXAMPLE
    checkpoint = args.checkpoint or random_weights(config, os.path.join(tmp, "random.pth"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "mmcascade",
        "serve",
        config,
        checkpoint,
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    cmd += ["--max-batch-size", str(args.max_batch_size)] + (["--backend", args.backend] if args.backend else [])
    server = subprocess.Popen(cmd, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        images = [scene(i) for i in range(16)]
        httpx.post(url + "/predict", content=images[0], timeout=120)  # warm-up
        start_rss = rss_mb(server.pid)

        def one(i: int) -> tuple[float, int]:
            t = time.perf_counter()
            r = httpx.post(url + "/predict", files={"file": ("x.png", images[i % 16], "image/png")}, timeout=300)
            return time.perf_counter() - t, r.status_code

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            done = list(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - t0
        latencies = np.array([d[0] for d in done])
        errors = sum(d[1] != 200 for d in done)
        metrics = httpx.get(url + "/metrics").text
        buckets = {
            line.split('"')[1]: int(float(line.split()[-1]))
            for line in metrics.splitlines()
            if line.startswith("mmcascade_batch_size_bucket")
        }
        end_rss = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    edges = [k for k in buckets if k != "+Inf"]
    sizes, previous = {}, 0
    for edge in edges:
        sizes[edge], previous = buckets[edge] - previous, buckets[edge]
    print(f"{config} ({args.backend or 'pytorch'}), {args.clients} clients, {args.requests} requests")
    print(
        f"throughput {args.requests / wall:.2f} images/s; latency p50 {np.percentile(latencies, 50):.3f} s, "
        f"p99 {np.percentile(latencies, 99):.3f} s; errors {errors}"
    )
    print("forward passes by batch size (<= edge): " + ", ".join(f"{k}: {v}" for k, v in sizes.items() if v))
    print(f"server RSS {start_rss:.0f} MB after warm-up, {end_rss:.0f} MB at the end")


if __name__ == "__main__":
    main()
