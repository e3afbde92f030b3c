"""Convert a Detectron (Caffe2) ``.pkl`` into an mmcascade checkpoint.

    # an ImageNet backbone (R-50.pkl, X-101-64x4d.pkl, X-152-32x8d-IN5k.pkl ...):
    python tools/model_converters/detectron_to_mmcascade.py R-50.pkl r50_caffe.pth --kind backbone
    # an end-to-end Faster / Mask R-CNN FPN baseline of the author's table (checked against CONFIG):
    python tools/model_converters/detectron_to_mmcascade.py model_final.pkl mask_rcnn_r50.pth \\
        --kind detector --config configs/detectron_cascade/mask_rcnn_r50_fpn_1x_detectron.py

The pickle is read without executing code (only numpy arrays are unpickled). What differs between
Detectron's conventions and ours, and what it costs: docs/detectron_conversion.md.
"""

import argparse
import os.path as osp
import sys

import torch

from mmcascade.config.class_names import COCO_CLASSES
from mmcascade.converters.detectron import (
    ConversionError,
    convert_backbone,
    convert_detector,
    read_detectron_blobs,
)


def _check_against_config(state: dict, config: str) -> None:
    from mmengine.config import Config

    from mmcascade.checkpoint import install_state_dict
    from mmcascade.registry import MODELS
    from mmcascade.utils import register_all_modules

    register_all_modules()
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    install_state_dict(MODELS.build(cfg.model), state, f"the converted {config}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("in_file")
    parser.add_argument("out_file")
    parser.add_argument("--kind", choices=["backbone", "detector"], required=True)
    parser.add_argument("--config", help="check that the result loads strictly into this config's model")
    args = parser.parse_args(argv)
    try:
        blobs = read_detectron_blobs(args.in_file)
        if args.kind == "backbone":
            state, meta = convert_backbone(blobs), {"source": f"detectron:{osp.basename(args.in_file)}"}
        else:
            state = convert_detector(blobs)
            meta = {"CLASSES": COCO_CLASSES, "source": f"detectron:{osp.basename(args.in_file)}"}
        if args.config:
            _check_against_config(state, args.config)
    except (ConversionError, KeyError, RuntimeError) as exc:
        print(f"error: {args.in_file}: {exc}", file=sys.stderr)
        return 2
    torch.save(dict(meta=meta, state_dict=state), args.out_file)
    print(f"{args.out_file}: {len(state)} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
