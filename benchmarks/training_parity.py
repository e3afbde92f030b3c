"""Training parity with MMDetection 3.x: the same weights and batch through both toolboxes'
``model.loss``, then every loss term and every parameter's gradient compared.

    python benchmarks/training_parity.py --mmdet-python /path/to/venv/bin/python \
        [--arch box|mask] [--ragged] [--seeds 50]

MMDetection runs as a black box in its own interpreter (a venv with mmdet 3.3 and mmcv 2.1);
without ``--mmdet-python`` only our side runs and prints its numbers. The batch: two 800x1216
images of noise, ten ground-truth boxes each (two of them on the image border), boxes and masks.

- default: every sampler takes all candidates (nothing random), losses within 1e-5 relative and
  gradients within 1e-4 relative (norm of the difference over the norm) are the target;
- ``--ragged``: the second image is smaller (768x1000) and padded to the batch shape;
- ``--seeds N``: the published samplers (256 RPN anchors, 512 RoIs), N seeds, mean and standard
  error of every loss term and of the positives each stage samples.
"""

import argparse
import atexit
import math
import os
import shutil
import subprocess
import sys
import tempfile

import torch

H, W = 800, 1216
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {"box": "cascade_rcnn_r50_fpn_1x_coco", "mask": "cascade_mask_rcnn_r50_fpn_1x_coco"}


def make_batch(ragged: bool) -> tuple[torch.Tensor, list[dict]]:
    """Normalised inputs ``(2, 3, 800, 1216)`` and per image ``img_shape``, boxes, labels, masks."""
    g = torch.Generator().manual_seed(0)
    inputs = torch.randn(2, 3, H, W, generator=g)
    images = []
    for i in range(2):
        xy = torch.rand(10, 2, generator=g) * torch.tensor([W - 200, H - 200])
        boxes = torch.cat([xy, xy + 32 + torch.rand(10, 2, generator=g) * 300], 1)
        boxes[0] = torch.tensor([0.0, 0.0, 150.0, 120.0])
        boxes[1] = torch.tensor([W - 180.0, H - 90.0, W - 1.0, H - 1.0])
        labels = torch.randint(0, 80, (10,), generator=g)
        shape = (768, 1000) if ragged and i == 1 else (H, W)
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, shape[1] - 1)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, shape[0] - 1)
        keep = ((boxes[:, 2] - boxes[:, 0]) > 4) & ((boxes[:, 3] - boxes[:, 1]) > 4)
        boxes, labels = boxes[keep], labels[keep]
        inputs[i, :, shape[0] :, :] = 0
        inputs[i, :, :, shape[1] :] = 0
        masks = torch.zeros((len(boxes), H, W), dtype=torch.uint8)
        for k, (x1, y1, x2, y2) in enumerate(boxes.round().int().tolist()):
            masks[k, y1:y2, x1:x2] = 1
            masks[k, y1 : y1 + (y2 - y1) // 3, x1 : x1 + (x2 - x1) // 2] = 0
        images.append(dict(shape=shape, boxes=boxes, labels=labels, masks=masks.numpy()))
    return inputs, images


def data_samples(images: list[dict], data_sample: type, bitmap_masks: type, with_masks: bool) -> list:
    """One data sample per image of :func:`make_batch`, in the classes of the toolbox that built them."""
    from mmengine.structures import InstanceData

    samples = []
    for img in images:
        s = data_sample(
            metainfo=dict(
                img_shape=img["shape"],
                pad_shape=(H, W),
                batch_input_shape=(H, W),
                ori_shape=img["shape"],
                scale_factor=(1.0, 1.0),
            )
        )
        s.gt_instances = InstanceData(bboxes=img["boxes"], labels=img["labels"])
        if with_masks:
            s.gt_instances.masks = bitmap_masks(img["masks"], H, W)
        samples.append(s)
    return samples


def build_side(side: str, arch: str, take_all: bool, fast: bool = False):
    """The model and the data-sample / mask classes of ``side`` ('ours' or 'mmdet'); ``fast``:
    mmcascade's ``channels_last`` and activation checkpointing in layer2-3."""
    from mmengine.config import Config
    from mmengine.logging import MMLogger

    MMLogger.get_instance("mmengine").setLevel("WARNING")  # no per-parameter init report
    if side == "mmdet":
        import mmdet
        from mmdet.registry import MODELS
        from mmdet.structures import DetDataSample
        from mmdet.structures.mask import BitmapMasks
        from mmdet.utils import register_all_modules

        register_all_modules()
        name = CONFIGS[arch].replace("cascade_mask_rcnn", "cascade-mask-rcnn").replace("cascade_rcnn", "cascade-rcnn")
        cfg = Config.fromfile(
            os.path.join(os.path.dirname(mmdet.__file__), ".mim", "configs", "cascade_rcnn", name + ".py")
        )
    else:
        sys.path.insert(0, REPO)
        from mmcascade.registry import MODELS
        from mmcascade.structures import BitmapMasks, DetDataSample
        from mmcascade.utils import register_all_modules

        register_all_modules()
        cfg = Config.fromfile(os.path.join(REPO, "configs", "cascade_rcnn", CONFIGS[arch] + ".py"))
    cfg.model.backbone.init_cfg = None
    if fast:
        cfg.model.channels_last = True
        cfg.model.backbone.with_cp = (False, True, True, False)
    if take_all:
        cfg.model.train_cfg.rpn.sampler.num = 10**9
        for stage in cfg.model.train_cfg.rcnn:
            stage.sampler.num = 10**9
    return MODELS.build(cfg.model), DetDataSample, BitmapMasks


def run_side(side: str, arch: str, ragged: bool, seeds: int, weights: str, out: str) -> None:
    model, data_sample, bitmap_masks = build_side(side, arch, take_all=seeds == 0)
    model.load_state_dict(torch.load(weights, weights_only=True))
    model.train()
    inputs, images = make_batch(ragged)
    samples = data_samples(images, data_sample, bitmap_masks, arch == "mask")
    samplers = [model.rpn_head.sampler] + (
        list(model.roi_head.bbox_sampler) if side == "mmdet" else [s.sampler for s in model.roi_head.stages]
    )
    positives: list[tuple[int, int]] = []
    for i, sampler in enumerate(samplers):

        def counted(*args, _sample=sampler.sample, _i=i, **kwargs):
            res = _sample(*args, **kwargs)
            positives.append((_i, int(res.pos_inds.numel())))
            return res

        sampler.sample = counted

    def losses_now() -> tuple[dict, torch.Tensor]:
        raw = model.loss(inputs, samples)
        flat = {k: sum(v) if isinstance(v, (list, tuple)) else v for k, v in raw.items()}
        return flat, sum(v for k, v in flat.items() if "loss" in k)

    if seeds == 0:
        torch.manual_seed(0)
        flat, total = losses_now()
        total.backward()
        grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}
        torch.save(dict(losses={k: float(v) for k, v in flat.items()}, grads=grads), out)
        return
    rows = []
    for seed in range(seeds):
        positives.clear()
        torch.manual_seed(seed)
        with torch.no_grad():
            flat, _ = losses_now()
        per_stage: dict[int, int] = {}
        for i, n in positives:
            per_stage[i] = per_stage.get(i, 0) + n
        rows.append(dict(losses={k: float(v) for k, v in flat.items()}, pos=per_stage))
    torch.save(rows, out)


def _mean_se(xs: list[float]) -> tuple[float, float]:
    m = sum(xs) / len(xs)
    var = sum((x - m) ** 2 for x in xs) / max(len(xs) - 1, 1)
    return m, math.sqrt(var / len(xs))


def report_exact(ours: dict, peer: dict | None) -> None:
    print(f"{'term':16s} {'MMDetection':>14s} {'mmcascade':>14s} {'rel. diff':>10s}")
    for k, v in ours["losses"].items():
        p = peer["losses"].get(k) if peer else None
        rel = abs(v - p) / max(abs(p), 1e-12) if p is not None else float("nan")
        print(f"{k:16s} {p if p is None else format(p, '14.7g'):>14} {v:14.7g} {rel:10.2e}")
    if peer:
        worst, where = 0.0, None
        for name, g in ours["grads"].items():
            rel = (g - peer["grads"][name]).norm().item() / max(peer["grads"][name].norm().item(), 1e-20)
            if rel >= worst:
                worst, where = rel, name
        print(f"gradients: {len(ours['grads'])} parameters, worst relative difference {worst:.2e} ({where})")
    for name in ("rpn_head.rpn_conv.weight", "neck.fpn_convs.0.conv.weight"):
        peer_norm = f"{peer['grads'][name].norm().item():.5g}" if peer else "-"
        print(f"grad norm {name}: MMDetection {peer_norm}, mmcascade {ours['grads'][name].norm().item():.5g}")


def report_seeds(ours: list, peer: list | None) -> None:
    print(f"| quantity ({len(ours)} seeds) | MMDetection mean ± SE | mmcascade mean ± SE | diff / SE |")
    print("|---|---|---|---|")
    rows = [
        (
            f"positives sampled, {n} (2 images)",
            [r["pos"][i] for r in ours],
            [r["pos"][i] for r in peer] if peer else None,
        )
        for i, n in enumerate(["RPN", "stage 1", "stage 2", "stage 3"])
    ]
    rows += [
        (k, [r["losses"][k] for r in ours], [r["losses"][k] for r in peer] if peer else None)
        for k in ours[0]["losses"]
        if "acc" not in k
    ]
    for name, a, b in rows:
        ma, sa = _mean_se(a)
        if b is None:
            print(f"| {name} | - | {ma:.5g} ± {sa:.2g} | - |")
            continue
        mb, sb = _mean_se(b)
        z = abs(ma - mb) / (math.hypot(sa, sb) or 1e-12)
        print(f"| {name} | {mb:.5g} ± {sb:.2g} | {ma:.5g} ± {sa:.2g} | {z:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=sorted(CONFIGS), default="box")
    parser.add_argument("--ragged", action="store_true")
    parser.add_argument("--seeds", type=int, default=0)
    parser.add_argument("--mmdet-python", help="interpreter of a venv with MMDetection 3.x")
    parser.add_argument("--side", choices=["ours", "mmdet"], help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:  # one toolbox, in a child process
        run_side(args.side, args.arch, args.ragged, args.seeds, args.weights, args.out)
        return
    tmp = tempfile.mkdtemp(prefix="parity-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # weights, exports: hundreds of MB
    weights = os.path.join(tmp, "weights.pth")
    model, _, _ = build_side("ours", args.arch, take_all=False)
    torch.manual_seed(1)
    model.init_weights()
    torch.save(model.state_dict(), weights)
    results = {}
    sides = [("ours", sys.executable)] + ([("mmdet", args.mmdet_python)] if args.mmdet_python else [])
    if not args.mmdet_python:
        print("MMDetection not given (--mmdet-python): printing mmcascade's numbers only")
    for side, python in sides:
        out = os.path.join(tmp, f"{side}.pt")
        cmd = [
            python,
            os.path.abspath(__file__),
            "--side",
            side,
            "--arch",
            args.arch,
            "--seeds",
            str(args.seeds),
            "--weights",
            weights,
            "--out",
            out,
        ] + (["--ragged"] if args.ragged else [])
        subprocess.run(cmd, check=True, capture_output=True)
        results[side] = torch.load(out, weights_only=True)  # plain dicts, floats and tensors
    report = report_seeds if args.seeds else report_exact
    report(results["ours"], results.get("mmdet"))


if __name__ == "__main__":
    main()
