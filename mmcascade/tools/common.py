"""What ``train`` and ``test`` share: the argument skeleton (config, work dir, ``--cfg-options``,
launcher, local rank) and reading the config the way both do."""

import argparse
import os

from mmengine.config import Config, DictAction

from mmcascade.config.loading import CfgOptions, load_tool_config
from mmcascade.slicing.tiles import MATCH_METRICS, MERGE_MODES, SliceSettings
from mmcascade.utils import register_all_modules

LAUNCHERS = ("none", "pytorch", "slurm", "mpi")


class CfgOptionsAction(DictAction):
    """mmengine's ``DictAction``, refusing an item without ``=`` by name instead of a traceback,
    and keeping each value's text as typed (:class:`~mmcascade.config.loading.CfgOptions`), so
    that a path with a comma can be put back together where the config expects one string."""

    def __call__(self, parser, namespace, values, option_string=None):
        for item in values:
            if "=" not in item:
                parser.error(f"{option_string} {item!r}: expected KEY=VALUE, e.g. train_cfg.max_epochs=1")
        super().__call__(parser, namespace, values, option_string)
        options = CfgOptions(getattr(namespace, self.dest) or {})
        options.raw.update(dict(item.split("=", 1) for item in values))
        setattr(namespace, self.dest, options)


def tool_parser(description: str, config_help: str, work_dir_help: str) -> argparse.ArgumentParser:
    """A parser with the arguments every config-driven tool takes; the tool adds its own."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("config", help=config_help + " (a file, a shipped config's name or a model-zoo name)")
    parser.add_argument("--work-dir", help=work_dir_help)
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=CfgOptionsAction,
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
    launcher applied (:func:`~mmcascade.config.loading.load_tool_config`)."""
    register_all_modules(init_default_scope=False)
    return load_tool_config(args.config, args.cfg_options, args.work_dir, args.launcher)


def add_slice_args(parser: argparse.ArgumentParser) -> None:
    """Sliced inference options (:class:`~mmcascade.slicing.SliceSettings`, whose defaults they show)."""
    d = SliceSettings()
    group = parser.add_argument_group("sliced inference (large images)")
    group.add_argument(
        "--slice",
        metavar="WxH",
        help="detect tile by tile: tiles of W x H pixels (or N for N x N), merged in the full image",
    )
    group.add_argument(
        "--slice-overlap", type=float, default=d.overlap, help="overlap of neighbouring tiles (fraction)"
    )
    group.add_argument(
        "--merge-iou-thr", type=float, default=d.merge_iou_thr, help="overlap above which detections merge"
    )
    group.add_argument(
        "--merge",
        choices=MERGE_MODES,
        default=d.merge,
        help="nms: keep the best of overlapping detections; nmm: unite them (boxes and masks of cut objects)",
    )
    group.add_argument(
        "--match-metric",
        choices=MATCH_METRICS,
        default=d.match_metric,
        help="ios: intersection over the smaller box (nmm)",
    )
    group.add_argument(
        "--no-full-image", action="store_true", help="tiles only (no whole-image view for large objects)"
    )
    group.add_argument("--slice-batch-size", type=int, default=d.batch_size, help="tiles per forward pass")


def slice_options(args: argparse.Namespace) -> SliceSettings | None:
    """The sliced-inference settings of :func:`add_slice_args`'s options (``None`` without
    ``--slice``); a bad size or combination raises ``ValueError`` naming it."""
    if not args.slice:
        return None
    return SliceSettings(
        slice_size=args.slice,
        overlap=args.slice_overlap,
        merge_iou_thr=args.merge_iou_thr,
        full_image=not args.no_full_image,
        batch_size=args.slice_batch_size,
        merge=args.merge,
        match_metric=args.match_metric,
    )
