"""Counters and histograms of a server, written in Prometheus' text exposition format."""

import threading
from collections import Counter

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32)


class _Histogram:
    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * len(buckets)
        self.total = 0
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.total += 1
        self.sum += value
        for i, edge in enumerate(self.buckets):
            if value <= edge:
                self.counts[i] += 1

    def lines(self, name: str) -> list[str]:
        out = [f'{name}_bucket{{le="{edge:g}"}} {n}' for edge, n in zip(self.buckets, self.counts)]
        out += [f'{name}_bucket{{le="+Inf"}} {self.total}', f"{name}_sum {self.sum:.6f}", f"{name}_count {self.total}"]
        return out


class Metrics:
    """Requests by path and status, request latency, batch sizes, inference time per batch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, int]] = Counter()
        self.latency = _Histogram(LATENCY_BUCKETS)
        self.batch_size = _Histogram(BATCH_BUCKETS)
        self.inference = _Histogram(LATENCY_BUCKETS)
        self.images = 0

    def observe_request(self, path: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(path, status)] += 1
            if path == "/predict":
                self.latency.observe(seconds)

    def observe_batch(self, size: int, seconds: float) -> None:
        with self._lock:
            self.batch_size.observe(size)
            self.inference.observe(seconds)
            self.images += size

    def render(self) -> str:
        with self._lock:
            lines = [
                "# HELP mmcascade_requests_total HTTP requests by path and status.",
                "# TYPE mmcascade_requests_total counter",
            ]
            for (path, status), n in sorted(self.requests.items()):
                lines.append(f'mmcascade_requests_total{{path="{path}",status="{status}"}} {n}')
            for name, hist, help_ in (
                ("mmcascade_request_seconds", self.latency, "Time to answer POST /predict."),
                ("mmcascade_batch_size", self.batch_size, "Images per forward pass."),
                ("mmcascade_inference_seconds", self.inference, "Time of one batch's forward pass."),
            ):
                lines += [f"# HELP {name} {help_}", f"# TYPE {name} histogram", *hist.lines(name)]
            lines += [
                "# HELP mmcascade_images_total Images run.",
                "# TYPE mmcascade_images_total counter",
                f"mmcascade_images_total {self.images}",
            ]
        return "\n".join(lines) + "\n"
