"""Train a detector from a config: ``python tools/train.py CONFIG [--work-dir DIR] ...``."""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import logging  # noqa: E402

from mmengine.config import DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

from mmcascade.apis.checkpoint import class_change_note  # noqa: E402
from mmcascade.engine.resume import latest_readable_checkpoint, remove_stale_temporaries  # noqa: E402
from mmcascade.utils import register_all_modules  # noqa: E402
from mmcascade.utils.config_tools import load_tool_config, prepare_runtime_cfg  # noqa: E402
from mmcascade.utils.dist_env import finish_distributed, name_hung_ranks  # noqa: E402
from mmcascade.utils.work_dir_lock import work_dir_lock  # noqa: E402
from mmcascade.zoo.resolve import resolve_checkpoint  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train a detector")
    parser.add_argument("config", help="train config file path")
    parser.add_argument("--work-dir", help="the dir to save logs and checkpoints")
    parser.add_argument("--amp", action="store_true", help="enable automatic mixed precision")
    parser.add_argument("--auto-scale-lr", action="store_true",
                        help="scale the lr by (total batch size) / auto_scale_lr.base_batch_size")
    parser.add_argument("--resume", nargs="?", type=str, const="auto",
                        help="resume from CKPT, or without a value from the latest checkpoint in work_dir")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction,
                        help="override config settings, e.g. train_cfg.max_epochs=1")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm", "mpi"], default="none")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = load_tool_config(args.config, args.cfg_options, args.work_dir, args.launcher)
    if args.amp:
        import torch

        if not torch.cuda.is_available():
            raise SystemExit("--amp needs a GPU: mmengine's AmpOptimWrapper (fp16 with loss scaling) "
                             "does not run on CPU; train without --amp here")
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    if args.auto_scale_lr:
        if "auto_scale_lr" not in cfg or "base_batch_size" not in cfg.auto_scale_lr:
            raise KeyError("--auto-scale-lr needs auto_scale_lr.base_batch_size in the config")
        cfg.auto_scale_lr.enable = True
    with work_dir_lock(cfg.work_dir, "training"):
        _train(cfg, args)
    finish_distributed()


def _train(cfg, args: argparse.Namespace) -> None:
    if args.resume == "auto":
        remove_stale_temporaries(cfg.work_dir)
        latest = latest_readable_checkpoint(cfg.work_dir)
        if latest is None:
            print_log(f"--resume: no readable checkpoint in {cfg.work_dir}; training from the start",
                      logger="current", level=logging.WARNING)
        cfg.resume, cfg.load_from = latest is not None, latest
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    note = None
    if cfg.get("load_from"):  # a file, URL or zoo name: fetched and checked before any work
        cfg.load_from = str(resolve_checkpoint(cfg.load_from, purpose="load_from checkpoint"))
        if not cfg.get("resume"):
            note = class_change_note(cfg.load_from, cfg.model)
    prepare_runtime_cfg(cfg)
    runner = Runner.from_cfg(cfg)
    if note:
        runner.logger.warning(note)
    with name_hung_ranks():
        runner.train()


if __name__ == "__main__":
    main()
