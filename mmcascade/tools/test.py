"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out F] [--show-dir D] [--tta | --slice WxH]``,
or an exported file: ``python tools/test.py CONFIG MODEL.onnx --backend onnxruntime|openvino`` (an int8
OpenVINO IR: ``MODEL.xml --backend openvino``)."""

import argparse
import os.path as osp

from mmengine.model import is_model_wrapper
from mmengine.runner import Runner

from mmcascade.checkpoint import check_checkpoint_classes, check_checkpoint_covers, check_finite_weights
from mmcascade.config.classes import config_class_names
from mmcascade.config.loading import check_run_config
from mmcascade.config.pipelines import tta_settings
from mmcascade.deploy.contract import is_exported_file
from mmcascade.slicing import sliced_test_settings
from mmcascade.utils.dist_env import finish_distributed, name_hung_ranks, setup_runtime
from mmcascade.utils.work_dir_lock import work_dir_lock
from mmcascade.zoo.resolve import resolve_checkpoint

from .common import add_slice_args, parse_tool_args, read_tool_config, slice_options, tool_parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = tool_parser(
        "Test (and evaluate) a detector",
        "test config",
        "the dir to save the evaluation metrics (default ./work_dirs/CONFIG_NAME)",
    )
    parser.add_argument("checkpoint", help="checkpoint: a file, an http(s) URL or a model-zoo name")
    parser.add_argument(
        "--out",
        help="write compact predictions (.pkl, masks as RLE) and the COCO "
        "results json beside it (OUT.bbox.json / OUT.segm.json)",
    )
    parser.add_argument("--show", action="store_true", help="show the results")
    parser.add_argument("--show-dir", help="save drawn predictions under WORK_DIR/TIMESTAMP/SHOW_DIR")
    parser.add_argument("--wait-time", type=float, default=2)
    parser.add_argument("--score-thr", type=float, default=0.3, help="score threshold of drawn boxes")
    parser.add_argument(
        "--tta",
        action="store_true",
        help="test-time augmentation: the config's tta_model / tta_pipeline, or a "
        "horizontal flip at the test scale when it defines none",
    )
    parser.add_argument(
        "--bf16",
        action="store_true",
        help="run inference under bfloat16 autocast (model.inference_dtype='bfloat16'); "
        "see docs/benchmarks.md for its speed and AP",
    )
    parser.add_argument(
        "--skip-bad-images",
        action="store_true",
        help="skip unreadable or truncated test images (named in a warning; the metrics are then "
        "over the remaining images) instead of refusing the dataset before testing",
    )
    parser.add_argument(
        "--backend",
        choices=("onnxruntime", "openvino"),
        help="test an exported CHECKPOINT.onnx (or int8 CHECKPOINT.xml, OpenVINO) in this runtime instead of PyTorch: "
        "same pipeline, evaluator and outputs",
    )
    parser.add_argument(
        "--allow-other-architecture",
        action="store_true",
        help="with --backend: run an exported file whose recorded architecture differs from the config's",
    )
    add_slice_args(parser)
    return parse_tool_args(parser, argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    try:
        sliced = slice_options(args)
    except ValueError as exc:
        raise SystemExit(f"--slice: {exc}") from None
    if sliced and args.tta:
        raise SystemExit("--slice and --tta cannot be combined: choose one test-time wrapper")
    cfg = read_tool_config(args)
    if args.out is not None and not args.out.endswith((".pkl", ".pickle")):
        raise SystemExit(f"--out {args.out}: the file name must end in .pkl or .pickle")
    if args.backend or is_exported_file(args.checkpoint):
        checkpoint = _use_exported(cfg, args)
    else:
        checkpoint = str(resolve_checkpoint(args.checkpoint))  # one resolver: file, URL or zoo name
        cfg.load_from = checkpoint
        check_checkpoint_classes(checkpoint, cfg.model, config_class_names(cfg))  # before any work
        check_finite_weights(checkpoint)
    if args.skip_bad_images:
        cfg.test_dataloader.dataset.skip_bad_images = True
    if args.show or args.show_dir:
        hook = cfg.default_hooks.visualization
        hook.update(draw=True, show=args.show, wait_time=args.wait_time, score_thr=args.score_thr)
        if args.show_dir:
            hook.test_out_dir = args.show_dir
    if args.bf16:
        cfg.model.inference_dtype = "bfloat16"
    if args.tta:
        tta_model, tta_pipeline = tta_settings(cfg)
        cfg.test_dataloader.dataset.pipeline = tta_pipeline
        cfg.tta_model = dict(tta_model, module=cfg.model)
        cfg.model = cfg.tta_model
    if sliced:
        cfg.model, cfg.test_dataloader.dataset.pipeline = sliced_test_settings(cfg, sliced)
    if args.out is not None:
        _add_dump(cfg, args.out)
    check_run_config(cfg)
    setup_runtime(cfg)
    with work_dir_lock(cfg.work_dir, "testing"):
        runner = Runner.from_cfg(cfg)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if cfg.load_from:
            check_checkpoint_covers(model.module if args.tta or sliced else model, checkpoint)
        with name_hung_ranks():
            metrics = runner.test()
    finish_distributed()
    return metrics


def _use_exported(cfg, args: argparse.Namespace) -> str:
    """Point ``cfg.model`` at the exported file (``BackendDetector``), checked against the config
    before any work."""
    from mmcascade.deploy import BackendMismatchError, MissingDeployPackageError, read_metadata
    from mmcascade.deploy.backend_detector import backend_model_cfg, check_file_matches
    from mmcascade.deploy.contract import default_backend
    from mmcascade.deploy.runtimes import check_backend_file

    backend = args.backend or default_backend(args.checkpoint)
    if not is_exported_file(args.checkpoint):
        raise SystemExit(
            f"--backend {backend}: CHECKPOINT must be an exported .onnx (or OpenVINO .xml) file, got {args.checkpoint}"
        )
    if args.tta or args.bf16 or args.slice:
        raise SystemExit(
            f"--backend {backend} runs the exported graph as it is: --tta, --slice and --bf16 need a PyTorch "
            "checkpoint (for large images use inference_sliced or demo --slice with the exported model)"
        )
    model_cfg = backend_model_cfg(cfg, args.checkpoint, backend, args.allow_other_architecture)
    try:
        check_backend_file(args.checkpoint, backend)
        check_file_matches(
            args.checkpoint,
            read_metadata(args.checkpoint),
            model_cfg["test_cfg"],
            model_cfg["classes"],
            model_cfg["architecture"],
            args.allow_other_architecture,
        )
    except (BackendMismatchError, MissingDeployPackageError, FileNotFoundError, ValueError) as exc:
        raise SystemExit(str(exc)) from None
    cfg.model = model_cfg
    cfg.load_from = None
    return args.checkpoint


def _add_dump(cfg, out: str) -> None:
    """Write the compact predictions to ``out`` and the COCO results json beside it."""
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
    stem = osp.splitext(out)[0]
    for ev in evaluators:
        if str(ev.get("type", "")).endswith("CocoMetric") and not ev.get("outfile_prefix"):
            ev["outfile_prefix"] = stem
    cfg.test_evaluator = [*evaluators, dict(type="DumpDetResults", out_file_path=out)]


if __name__ == "__main__":
    main()
