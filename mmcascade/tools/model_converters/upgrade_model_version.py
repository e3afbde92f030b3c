"""Upgrade an MMDetection v1.x checkpoint to the v2.0 key layout (``roi_head.*``, background
class last) that mmcascade and OpenMMLab's v2.0 model zoo use.

    python tools/model_converters/upgrade_model_version.py old.pth new.pth
"""

import argparse
import sys

import torch

from mmcascade.checkpoint import extract_state_dict, read_checkpoint
from mmcascade.converters.upgrade import is_v1_layout, upgrade_v1_state


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("in_file")
    parser.add_argument("out_file")
    args = parser.parse_args(argv)
    ckpt = read_checkpoint(args.in_file)
    state = extract_state_dict(ckpt)
    if not is_v1_layout(state):
        print(f"{args.in_file} already has the v2.0 layout; written unchanged")
    meta = dict(ckpt.get("meta") or {})
    torch.save(dict(meta=meta, state_dict=upgrade_v1_state(state)), args.out_file)
    print(args.out_file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
