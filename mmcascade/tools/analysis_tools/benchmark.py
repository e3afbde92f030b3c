"""Measure a config's inference speed (images/s, latency percentiles) or training speed
(seconds per iteration), with peak memory, on its own dataset; warm-up iterations excluded.

    python tools/analysis_tools/benchmark.py CONFIG [CHECKPOINT] [--task inference|train] \\
        [--repeat 50] [--warmup 5] [--device cpu|cuda] [--cfg-options ...]

Peak memory is CUDA's max allocated on GPU and the process's peak RSS on CPU.
"""

import argparse
import itertools

import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from mmcascade.analysis.benchmarking import peak_memory_gb, time_calls
from mmcascade.apis import init_detector
from mmcascade.config.loading import load_tool_config
from mmcascade.registry import MODELS
from mmcascade.utils import register_all_modules


def _batches(loader_cfg, count: int) -> list[dict]:
    """The first ``count`` batches, loaded up front so that data loading is not timed."""
    loader_cfg.update(num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    batches = list(itertools.islice(itertools.cycle(loader), count))
    if not batches:
        raise ValueError("the dataloader is empty")
    return batches


def bench_inference(cfg: Config, checkpoint: str | None, args) -> dict:
    model = init_detector(cfg, checkpoint, device=args.device)
    loader_cfg = cfg.test_dataloader.copy()
    loader_cfg.batch_size = 1
    batches = _batches(loader_cfg, args.warmup + args.repeat)
    timing = time_calls(lambda i: model.test_step(batches[i]), args.repeat, args.warmup, args.device)
    return {
        "images/s": 1.0 / timing.mean,
        "latency p50 (ms)": 1000 * timing.percentile(50),
        "latency p90 (ms)": 1000 * timing.percentile(90),
        "latency p99 (ms)": 1000 * timing.percentile(99),
        "peak memory (GB)": peak_memory_gb(args.device),
    }


def bench_train(cfg: Config, args) -> dict:
    from mmengine.optim import build_optim_wrapper

    register_all_modules()
    model_cfg = cfg.model.copy()
    model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg).to(args.device).train()
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batches = _batches(cfg.train_dataloader.copy(), args.warmup + args.repeat)
    timing = time_calls(lambda i: model.train_step(batches[i], optim_wrapper), args.repeat, args.warmup, args.device)
    return {
        "batch size": cfg.train_dataloader.batch_size,
        "s/iter": timing.mean,
        "s/iter p90": timing.percentile(90),
        "peak memory (GB)": peak_memory_gb(args.device),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("checkpoint", nargs="?", help="weights for inference (random weights if omitted)")
    parser.add_argument("--task", choices=["inference", "train"], default="inference")
    parser.add_argument("--repeat", type=int, default=50, help="timed iterations")
    parser.add_argument("--warmup", type=int, default=5, help="untimed iterations first")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    args = parser.parse_args(argv)
    register_all_modules()
    cfg = load_tool_config(args.config, args.cfg_options)
    if args.task == "inference" and args.checkpoint is None:
        print("note: no checkpoint, timing random weights (detections counts, and so NMS time, may differ)")
    figures = bench_inference(cfg, args.checkpoint, args) if args.task == "inference" else bench_train(cfg, args)
    print(
        f"{args.task} on {args.device} ({torch.get_num_threads()} CPU threads), "
        f"{args.repeat} timed after {args.warmup} warm-up:"
    )
    for key, value in figures.items():
        print(f"  {key:<20}{value:.3f}" if isinstance(value, float) else f"  {key:<20}{value}")
    return figures


if __name__ == "__main__":
    main()
