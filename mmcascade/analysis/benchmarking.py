"""Timing and memory measurement shared by the benchmark tools (warm-up excluded)."""

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_memory_gb(device: str) -> float:
    """Peak CUDA memory allocated by tensors, or the process's peak resident set size on CPU."""
    if device.startswith("cuda"):
        return torch.cuda.max_memory_allocated() / 1024**3
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is KiB on Linux


@dataclass(frozen=True)
class Timing:
    seconds: list[float]  # one per measured call, warm-up excluded

    @property
    def mean(self) -> float:
        return float(np.mean(self.seconds))

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.seconds, q))


def time_calls(
    fn: Callable[[int], object], repeats: int, warmup: int, device: str = "cpu", progress: bool = True
) -> Timing:
    """Call ``fn(i)`` ``warmup`` times untimed, then ``repeats`` times timed (device synchronised)."""
    from tqdm import tqdm

    for i in range(warmup):
        fn(i)
    synchronize(device)
    times = []
    for i in tqdm(range(repeats), desc="timing", unit="call", disable=not progress):
        start = time.perf_counter()
        fn(warmup + i)
        synchronize(device)
        times.append(time.perf_counter() - start)
    return Timing(times)
