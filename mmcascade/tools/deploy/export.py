"""Export a detector to one ONNX file: ``mmcascade export CONFIG CHECKPOINT OUT.onnx``
(``python tools/deploy/export.py``). The file is checked in ONNX Runtime beside PyTorch before
it is kept; run it with ``--backend onnxruntime|openvino`` in ``mmcascade test`` and ``demo``."""

import argparse
import re
import sys
import warnings
from pathlib import Path

import torch

from mmcascade.apis import init_detector
from mmcascade.tools.common import CfgOptionsAction
from mmcascade.zoo.resolve import resolve_checkpoint


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
    parser.add_argument("out", help="the .onnx file to write")
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
    parser.add_argument(
        "--cfg-options",
        nargs="+",
        action=CfgOptionsAction,
        help="override config settings, e.g. model.test_cfg.rcnn.score_thr=0.1",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from mmcascade.deploy.runtimes import MissingDeployPackageError

    try:
        from mmcascade.deploy import ExportError, check_export_target, export_onnx

        check_export_target(Path(args.out), args.opset, args.batch_size, not args.no_verify, args.overwrite)
        checkpoint = str(resolve_checkpoint(args.checkpoint))
        model = build_model(args.config, checkpoint, args.cfg_options)
        report = export_onnx(
            model,
            args.out,
            opset=args.opset,
            shape=args.shape,
            batch_size=args.batch_size,
            verify=not args.no_verify,
            overwrite=args.overwrite,
            checkpoint=checkpoint,
        )
    except (ExportError, MissingDeployPackageError, FileExistsError, ValueError) as exc:
        print(f"mmcascade export: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {report.path} ({report.size_mb:.1f} MB) in {report.seconds:.1f} s")
    if report.detections is not None:
        mask = f", mask probabilities {report.mask_diff:.2g}" if report.mask_diff is not None else ""
        print(
            f"checked in ONNX Runtime on a generated image: {report.detections} detections as in PyTorch; "
            f"largest difference: boxes {report.box_diff:.2g} px, scores {report.score_diff:.2g}{mask}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
