"""Publish a trained checkpoint: keep only ``state_dict`` and plain ``meta``, then append the
first 8 hex digits of the file's sha256 to its name (``name-1a2b3c4d.pth``), as model-zoo files are
named.

    python tools/model_converters/publish_model.py work_dirs/x/epoch_12.pth model.pth

The input is read with ``torch.load(weights_only=True)`` (checkpoints written by our runs load that
way); a file that needs other Python objects is refused, as everywhere in mmcascade.
"""

import argparse
import os

import torch

from mmcascade.checkpoint import extract_state_dict, read_checkpoint
from mmcascade.zoo.download import sha256_of

PLAIN_META_KEYS = (
    "epoch",
    "iter",
    "mmengine_version",
    "mmcv_version",
    "time",
    "config",
    "seed",
    "experiment_name",
    "dataset_meta",
    "CLASSES",
)


def publish(src: str, dst: str) -> str:
    """Write the slim checkpoint and return its final path (with the hash suffix)."""
    ckpt = read_checkpoint(src)
    meta = {k: v for k, v in (ckpt.get("meta") or {}).items() if k in PLAIN_META_KEYS}
    tmp = dst + ".tmp"
    torch.save(dict(meta=meta, state_dict=extract_state_dict(ckpt)), tmp)
    stem = dst[:-4] if dst.endswith(".pth") else dst
    final = f"{stem}-{sha256_of(tmp)[:8]}.pth"
    os.replace(tmp, final)
    return final


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("in_file")
    parser.add_argument("out_file")
    args = parser.parse_args()
    print(publish(args.in_file, args.out_file))


if __name__ == "__main__":
    main()
