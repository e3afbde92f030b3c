"""Run the images of requests that arrive together as one batch, one batch at a time."""

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .metrics import Metrics


@dataclass
class _Item:
    image: np.ndarray
    future: asyncio.Future
    queued: float = field(default_factory=time.perf_counter)


class Batcher:
    """Collects images from concurrent requests into batches of at most ``max_batch_size``,
    waiting at most ``max_wait_ms`` after the first for others, and runs ``run_batch`` on them in
    one worker thread (the model uses every core for one batch; two at once would only contend).

    Args:
        run_batch: ``list of (H, W, 3) uint8 BGR`` -> one result per image, in order.
        max_batch_size, max_wait_ms: the batching.
        metrics: where batch sizes and inference times are counted.
    """

    def __init__(
        self,
        run_batch: Callable[[list[np.ndarray]], Sequence[Any]],
        max_batch_size: int,
        max_wait_ms: float,
        metrics: Metrics,
    ) -> None:
        self.run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.metrics = metrics
        self._queue: asyncio.Queue[_Item] | None = None
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmcascade-infer")

    def start(self) -> None:
        """Start the batching loop on the running event loop."""
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def run_exclusive(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn()`` on the inference thread, between batches (sliced requests)."""
        start = time.perf_counter()
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)
        finally:
            self.metrics.observe_batch(1, time.perf_counter() - start)

    def submit(self, images: list[np.ndarray]) -> list[asyncio.Future]:
        """Queue ``images``; each future resolves to its result (or its exception)."""
        if self._queue is None:
            raise RuntimeError("Batcher.start() was not called")
        loop = asyncio.get_running_loop()
        futures = []
        for image in images:
            item = _Item(image, loop.create_future())
            self._queue.put_nowait(item)
            futures.append(item.future)
        return futures

    async def _loop(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            deadline = loop.time() + self.max_wait
            while len(batch) < self.max_batch_size:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    while len(batch) < self.max_batch_size and not self._queue.empty():
                        batch.append(self._queue.get_nowait())
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except asyncio.TimeoutError:
                    break
            await self._run(loop, batch)

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list[_Item]) -> None:
        start = time.perf_counter()
        try:
            results = await loop.run_in_executor(self._executor, self.run_batch, [item.image for item in batch])
        except Exception as exc:  # one failing batch answers its requests and the server goes on
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        finally:
            self.metrics.observe_batch(len(batch), time.perf_counter() - start)
        for item, result in zip(batch, results):
            if not item.future.done():
                item.future.set_result(result)
