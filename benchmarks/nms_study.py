"""NMS on CPU: mmcascade's torch implementation against mmcv's compiled kernel, same boxes.

    python benchmarks/nms_study.py [--boxes 4741] [--iou 0.7] [--repeats 20]

The boxes are an RPN's: random anchors-like boxes of 16 to 512 pixels over an 800x1216 image with
random scores (seeded). Prints the median milliseconds of each and whether they keep the same
boxes in the same order. This is why ``impl='auto'`` uses mmcv's NMS on CPU when it is built with
ops, and the torch one otherwise.
"""

import argparse
import statistics
import time

import torch

from mmcascade.ops.backend import mmcv_ops
from mmcascade.ops.nms import nms


def boxes(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    wh = torch.exp(torch.empty(n, 2).uniform_(2.77, 6.24, generator=g))  # 16 to 512 px
    xy = torch.rand(n, 2, generator=g) * torch.tensor([1216.0, 800.0])
    return torch.cat([xy, xy + wh], 1), torch.rand(n, generator=g)


def median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--boxes", type=int, default=4741)
    parser.add_argument("--iou", type=float, default=0.7)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    b, s = boxes(args.boxes)
    _, ours = nms(b, s, args.iou, impl="torch")
    torch_ms = median_ms(lambda: nms(b, s, args.iou, impl="torch"), args.repeats)
    print(f"{args.boxes} boxes, IoU {args.iou}: torch NMS {torch_ms:.1f} ms", end="")
    ops = mmcv_ops()
    if ops is None:
        print("; mmcv has no compiled ops here")
        return
    _, theirs = ops.nms(b, s, args.iou)
    ms = median_ms(lambda: ops.nms(b, s, args.iou), args.repeats)
    print(f", mmcv.ops.nms {ms:.1f} ms; same kept boxes in the same order: {torch.equal(ours, theirs)}")


if __name__ == "__main__":
    main()
