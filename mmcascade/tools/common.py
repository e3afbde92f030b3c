"""What ``train`` and ``test`` share: the argument skeleton (config, work dir, ``--cfg-options``,
launcher, local rank) and reading the config the way both do."""

import argparse
import os

from mmengine.config import Config, DictAction

from mmcascade.utils import register_all_modules
from mmcascade.utils.config_tools import load_tool_config

LAUNCHERS = ("none", "pytorch", "slurm", "mpi")


def tool_parser(description: str, config_help: str, work_dir_help: str) -> argparse.ArgumentParser:
    """A parser with the arguments every config-driven tool takes; the tool adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config", help=config_help + " (a file, a shipped config's name or a model-zoo name)")
    parser.add_argument("--work-dir", help=work_dir_help)
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=DictAction,
        help="override config settings, e.g. train_cfg.max_epochs=1 data_root=/data/coco/",
    )
    parser.add_argument("--launcher", choices=LAUNCHERS, default="none", help="job launcher for distributed runs")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0, help=argparse.SUPPRESS)
    return parser


def parse_tool_args(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse ``argv`` (``sys.argv`` when None); ``--local-rank`` (from older launchers) becomes
    ``LOCAL_RANK`` unless the launcher set it."""
    args = parser.parse_args(argv)
    os.environ.setdefault("LOCAL_RANK", str(args.local_rank))
    return args


def read_tool_config(args: argparse.Namespace) -> Config:
    """Register mmcascade's modules and read ``args.config`` with ``--cfg-options``, work dir and
    launcher applied (:func:`~mmcascade.utils.config_tools.load_tool_config`)."""
    register_all_modules(init_default_scope=False)
    return load_tool_config(args.config, args.cfg_options, args.work_dir, args.launcher)
