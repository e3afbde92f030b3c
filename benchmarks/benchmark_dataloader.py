"""Dataloader throughput of a config's train pipeline (default: the embedded main-job config).

    python benchmarks/benchmark_dataloader.py [CONFIG] [--workers 2] [--batches 60]

Prints images per second over ``--batches`` batches after one warm-up epoch start (the worker
start-up is excluded), with the config's batch size and batch sampler.
"""

import argparse
import time

from mmengine.config import Config
from mmengine.runner import Runner

from mmcascade.utils import register_all_modules

DEFAULT = "configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", default=DEFAULT)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=60)
    args = parser.parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    loader_cfg = cfg.train_dataloader
    loader_cfg.num_workers = args.workers
    loader_cfg.persistent_workers = args.workers > 0
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    it = iter(loader)
    next(it)  # workers started, first batch ready
    images, t0 = 0, time.perf_counter()
    for _ in range(args.batches):
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        images += len(batch["inputs"])
    elapsed = time.perf_counter() - t0
    print(f"config: {args.config}")
    print(f"workers: {args.workers}  batch size: {loader_cfg.batch_size}  batches: {args.batches}")
    print(f"throughput: {images / elapsed:.1f} images/s ({elapsed:.2f} s for {images} images)")


if __name__ == "__main__":
    main()
