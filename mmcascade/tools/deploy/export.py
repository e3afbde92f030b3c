"""Export a detector to one ONNX file: ``mmcascade export CONFIG CHECKPOINT OUT.onnx``
(``python tools/deploy/export.py``). The file is checked in ONNX Runtime beside PyTorch before
it is kept; run it with ``--backend onnxruntime|openvino`` in ``mmcascade test`` and ``demo``.
``--int8 OUT.xml``: an int8 OpenVINO IR, kept only when its AP holds (``--max-ap-drop``)."""

import argparse
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch

from mmcascade.apis import init_detector
from mmcascade.tools.common import CfgOptionsAction
from mmcascade.zoo.resolve import resolve_checkpoint

T = TypeVar("T")


def build_model(config: str, checkpoint: str, cfg_options: dict | None) -> torch.nn.Module:
    """The detector to export, on the CPU, with its weights, config and classes."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        return init_detector(config, checkpoint, device="cpu", cfg_options=cfg_options)


def parse_shape(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)[xX](\d+)", text.strip())
    if not match or min(int(match[1]), int(match[2])) < 32:
        raise argparse.ArgumentTypeError(f"{text!r}: expected HEIGHTxWIDTH, both at least 32, e.g. 800x1344")
    return int(match[1]), int(match[2])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Export a Cascade (Mask) R-CNN to one ONNX file (backbone to final detections), "
        "checked in ONNX Runtime against PyTorch before it is kept"
    )
    parser.add_argument("config", help="config file, shipped config name or model-zoo name")
    parser.add_argument("checkpoint", help="checkpoint: a file, an http(s) URL or a model-zoo name")
    parser.add_argument("out", help="the .onnx file to write (with --int8: the OpenVINO .xml; its .bin goes beside it)")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (at least 16; default 17)")
    parser.add_argument(
        "--shape",
        type=parse_shape,
        help="a fixed input size HEIGHTxWIDTH (after the test pipeline and padding); default: any height and width",
    )
    parser.add_argument(
        "--batch-size", type=int, default=1, help="images per run of the file (default 1: batches run image by image)"
    )
    parser.add_argument(
        "--masks",
        choices=("outside",),
        default="outside",
        help="where masks are pasted: 'outside' the graph (the file returns each detection's "
        "28x28 probabilities, pasted as the PyTorch model pastes them)",
    )
    parser.add_argument("--no-verify", action="store_true", help="skip the ONNX Runtime check against PyTorch")
    parser.add_argument("--overwrite", action="store_true", help="replace OUT when it exists")
    int8 = parser.add_argument_group("int8 (OpenVINO IR, quantized with NNCF, kept only when its AP holds)")
    int8.add_argument("--int8", action="store_true", help="quantize to int8 after export; OUT ends in .xml")
    int8.add_argument(
        "--calib",
        help="calibration images: a folder of images (or a glob), or the config's dataset 'val' (default), "
        "'test' or 'train'",
    )
    int8.add_argument("--calib-size", type=int, default=100, help="calibration images, the first ones (default 100)")
    int8.add_argument(
        "--max-ap-drop",
        type=float,
        default=0.5,
        help="most box (and mask) AP points the int8 file may lose against the float32 file (default 0.5)",
    )
    int8.add_argument(
        "--eval-size", type=int, default=100, help="val images the AP gate evaluates, the first ones (default 100)"
    )
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=CfgOptionsAction,
        help="override config settings, e.g. model.test_cfg.rcnn.score_thr=0.1",
    )
    return parser.parse_args(argv)


def run_export(
    args: argparse.Namespace, check_target: Callable[[], None], export: Callable[[torch.nn.Module, str], T]
) -> T | None:
    """Refuse what cannot be written (``check_target``) before any work, resolve the checkpoint,
    build the model and ``export(model, checkpoint)``; ``None`` after printing a user error."""
    from mmcascade.deploy import ExportError, MissingDeployPackageError

    try:
        check_target()
        checkpoint = str(resolve_checkpoint(args.checkpoint))
        return export(build_model(args.config, checkpoint, args.cfg_options), checkpoint)
    except (ExportError, MissingDeployPackageError, FileExistsError, ValueError) as exc:
        print(f"mmcascade export: {exc}", file=sys.stderr)
        return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.int8:
        return main_int8(args)
    if args.calib or args.calib_size != 100 or args.max_ap_drop != 0.5 or args.eval_size != 100:
        print("mmcascade export: --calib, --calib-size, --max-ap-drop and --eval-size go with --int8", file=sys.stderr)
        return 1
    from mmcascade.deploy import check_export_target, export_onnx

    def export(model: torch.nn.Module, checkpoint: str):
        return export_onnx(
            model,
            args.out,
            opset=args.opset,
            shape=args.shape,
            batch_size=args.batch_size,
            verify=not args.no_verify,
            overwrite=args.overwrite,
            checkpoint=checkpoint,
        )

    report = run_export(
        args,
        lambda: check_export_target(Path(args.out), args.opset, args.batch_size, not args.no_verify, args.overwrite),
        export,
    )
    if report is None:
        return 1
    print(f"wrote {report.path} ({report.size_mb:.1f} MB) in {report.seconds:.1f} s")
    if report.detections is not None:
        mask = f", mask probabilities {report.mask_diff:.2g}" if report.mask_diff is not None else ""
        print(
            f"checked in ONNX Runtime on a generated image: {report.detections} detections as in PyTorch; "
            f"largest difference: boxes {report.box_diff:.2g} px, scores {report.score_diff:.2g}{mask} "
            f"(PyTorch's own runs, rounded otherwise: {report.torch_box_diff:.2g} px, "
            f"{report.torch_score_diff:.2g})"
        )
    return 0


def main_int8(args: argparse.Namespace) -> int:
    """``--int8``: export, quantize, gate; the figures printed either way."""
    from mmcascade.quantization import check_int8_target, export_int8

    if args.no_verify or args.shape or args.batch_size != 1:
        print("mmcascade export: --int8 exports a checked, dynamic-shape, batch-1 file", file=sys.stderr)
        print("  (--no-verify, --shape and --batch-size are for ONNX exports)", file=sys.stderr)
        return 1

    def export(model: torch.nn.Module, checkpoint: str):
        return export_int8(
            model,
            args.out,
            calib=args.calib,
            calib_size=args.calib_size,
            max_ap_drop=args.max_ap_drop,
            eval_size=args.eval_size,
            overwrite=args.overwrite,
            checkpoint=checkpoint,
            opset=args.opset,
        )

    report = run_export(args, lambda: check_int8_target(Path(args.out), args.overwrite), export)
    if report is None:
        return 1
    print(f"wrote {report.path} and its .bin ({report.size_mb:.1f} MB) in {report.seconds:.0f} s")
    for task in report.ap_drop:
        print(
            f"{task} AP on {report.eval_images} val images: float32 {report.fp32_ap[task]:.1f}, "
            f"int8 {report.int8_ap[task]:.1f} (drop {report.ap_drop[task]:.2f}, allowed {args.max_ap_drop})"
        )
    print(f"calibrated on {report.calib_images} images; run it with --backend openvino")
    return 0


if __name__ == "__main__":
    sys.exit(main())
