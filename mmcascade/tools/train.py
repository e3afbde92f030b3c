"""Train a detector from a config: ``python tools/train.py CONFIG [--work-dir DIR] ...``."""

import argparse
import logging

from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmcascade.checkpoint import check_checkpoint_covers, class_change_note
from mmcascade.checkpoint.resume import latest_readable_checkpoint, nothing_left_to_train, remove_stale_temporaries
from mmcascade.config.loading import check_run_config
from mmcascade.utils.dist_env import finish_distributed, name_hung_ranks, setup_runtime
from mmcascade.utils.work_dir_lock import work_dir_lock
from mmcascade.zoo.resolve import resolve_checkpoint

from .common import parse_tool_args, read_tool_config, tool_parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = tool_parser(
        "Train a detector", "train config", "the dir to save logs and checkpoints (default ./work_dirs/CONFIG_NAME)"
    )
    parser.add_argument("--amp", action="store_true", help="enable automatic mixed precision (GPU)")
    parser.add_argument(
        "--auto-scale-lr",
        action="store_true",
        help="scale the lr by (total batch size) / auto_scale_lr.base_batch_size",
    )
    parser.add_argument(
        "--resume",
        nargs="?",
        type=str,
        const="auto",
        help="resume from CKPT, or without a value from the latest checkpoint in work_dir",
    )
    return parse_tool_args(parser, argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    cfg = read_tool_config(args)
    if args.amp:
        import torch

        if not torch.cuda.is_available():
            raise SystemExit(
                "--amp needs a GPU: mmengine's AmpOptimWrapper (fp16 with loss scaling) "
                "does not run on CPU; train without --amp here"
            )
        cfg.optim_wrapper.type = "AmpOptimWrapper"
        cfg.optim_wrapper.setdefault("loss_scale", "dynamic")
    _check_precision(cfg)
    if args.auto_scale_lr:
        if "auto_scale_lr" not in cfg or "base_batch_size" not in cfg.auto_scale_lr:
            raise KeyError("--auto-scale-lr needs auto_scale_lr.base_batch_size in the config")
        cfg.auto_scale_lr.enable = True
    with work_dir_lock(cfg.work_dir, "training"):
        _train(cfg, args)
    finish_distributed()


def _check_precision(cfg) -> None:
    """Refuse mixed precision without a GPU before any work (MMDetection's ``*_amp*`` configs set
    ``AmpOptimWrapper``; mmengine asserts only after building the model and the data). Switching
    such a config to ``optim_wrapper.type=OptimWrapper`` drops its AMP-only ``loss_scale``."""
    wrapper = cfg.get("optim_wrapper") or {}
    if wrapper.get("type") == "AmpOptimWrapper":
        import torch

        if not torch.cuda.is_available():
            raise SystemExit(
                "optim_wrapper.type='AmpOptimWrapper' (mixed precision) needs a GPU, as in MMDetection, and this "
                "machine has none; to train in fp32 here add --cfg-options optim_wrapper.type=OptimWrapper"
            )
    elif wrapper.get("type") == "OptimWrapper" and "loss_scale" in wrapper:
        print_log(
            f"optim_wrapper.loss_scale={wrapper['loss_scale']!r} dropped: it belongs to AmpOptimWrapper (fp16), "
            "and optim_wrapper.type is OptimWrapper (fp32)",
            logger="current",
            level=logging.WARNING,
        )
        wrapper.pop("loss_scale")


def _train(cfg, args: argparse.Namespace) -> None:
    if args.resume == "auto":
        remove_stale_temporaries(cfg.work_dir)
        latest = latest_readable_checkpoint(cfg.work_dir)
        if latest is None:
            print_log(
                f"--resume: no readable checkpoint in {cfg.work_dir}; training from the start",
                logger="current",
                level=logging.WARNING,
            )
        cfg.resume, cfg.load_from = latest is not None, latest
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    note = None
    if cfg.get("load_from"):  # a file, URL or zoo name: fetched and checked before any work
        cfg.load_from = str(resolve_checkpoint(cfg.load_from, purpose="load_from checkpoint"))
        if not cfg.get("resume"):
            note = class_change_note(cfg.load_from, cfg.model)
        elif reason := nothing_left_to_train(cfg.load_from, cfg.get("train_cfg") or {}):
            raise SystemExit(reason)
    check_run_config(cfg)
    setup_runtime(cfg)
    runner = Runner.from_cfg(cfg)
    if cfg.get("resume") and cfg.get("load_from"):  # the same check as test.py, before the optimizer state
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        check_checkpoint_covers(model, cfg.load_from)
    if note:
        runner.logger.warning(note)
    with name_hung_ranks():
        runner.train()


if __name__ == "__main__":
    main()
