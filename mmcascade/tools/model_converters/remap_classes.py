"""Reorder a checkpoint's classes to a config's order (a checkpoint trained with the same classes
listed in another order): the classifier, class-specific box regression and mask logits are
permuted and the new order is recorded in the checkpoint's meta.

    python tools/model_converters/remap_classes.py IN.pth CONFIG OUT.pth
    mmcascade convert remap_classes IN.pth CONFIG OUT.pth
"""

import argparse
import os.path as osp
import sys

import torch

from mmcascade.checkpoint import class_names_from_meta, extract_state_dict, read_checkpoint
from mmcascade.config.classes import config_class_names
from mmcascade.config.loading import resolve_config
from mmcascade.converters.remap import class_permutation, remap_state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("in_file", help="the checkpoint (its meta must record its class names)")
    parser.add_argument("config", help="the config whose dataset's class order to adopt")
    parser.add_argument("out_file", help="the reordered checkpoint to write (never IN_FILE)")
    args = parser.parse_args(argv)
    if osp.abspath(args.out_file) == osp.abspath(args.in_file):
        raise SystemExit(f"{args.out_file}: write the reordered checkpoint to another file than the input")
    ckpt = read_checkpoint(args.in_file)
    old = class_names_from_meta(ckpt)
    if old is None:
        raise SystemExit(f"{args.in_file}: the checkpoint records no class names, so their order is unknown")
    new = config_class_names(resolve_config(args.config))
    if new is None:
        raise SystemExit(f"{args.config}: the config's test dataset names no classes")
    try:
        perm = class_permutation(old, new)
    except ValueError as exc:
        raise SystemExit(f"{args.in_file} vs {args.config}: {exc}") from None
    meta = dict(ckpt.get("meta") or {})
    meta.pop("CLASSES", None)
    meta["dataset_meta"] = dict(meta.get("dataset_meta") or {}, classes=tuple(new))
    torch.save(dict(meta=meta, state_dict=remap_state(extract_state_dict(ckpt), perm)), args.out_file)
    moved = sum(1 for i, j in enumerate(perm) if i != j)
    print(f"{args.out_file}: {moved} of {len(perm)} classes moved to the config's order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
