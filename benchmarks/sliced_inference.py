"""Large images: peak memory of whole-image and sliced inference, and AP of both on large images.

    python benchmarks/sliced_inference.py memory [--size 10000] [--slice 2048]
    python benchmarks/sliced_inference.py ap CHECKPOINT [--slice 256x192] [--picture OUT.jpg]

``memory``: one ``SIZE`` x ``SIZE`` JPEG (smooth blobs) through cascade_mask_rcnn_r50_fpn with
seeded weights in the published layout whose classifiers are scaled so that the image gives 100
detections (as in ``speed_vs_mmdet.py``), on CPU, each contestant in a fresh process:
``inference_detector`` on the whole image, and ``inference_sliced`` with ``--slice`` tiles (merged,
best 100 kept) for each of ``--batch-sizes`` (tiles per forward pass: the activations of a batch
are most of sliced inference's memory). Prints seconds, peak RSS (``ru_maxrss``) and the
detections' mask memory.

``ap``: the main job's checkpoint (``scripts/main_job.sh``) tested on the generated large-image
set (``configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded_large-images.py``: 4 images of
2048x1536, about 220 small shapes each) whole, and tile by tile merged by NMS and by greedy
merging (``--merge nmm --match-metric ios``, with and without the whole-image view), through
``tools/test.py``; prints box and mask AP.
``--picture docs/sliced_inference.jpg`` also draws both on one image.
"""

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LARGE_CFG = "configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded_large-images.py"


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def make_large_image(path: str, size: int) -> None:
    import cv2
    import numpy as np

    g = np.random.default_rng(0)
    small = g.integers(0, 255, (size // 64, size // 64, 3), dtype=np.uint8)
    cv2.imwrite(path, cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC), [cv2.IMWRITE_JPEG_QUALITY, 90])


def child_memory(mode: str, weights: str, image: str, slice_size: str, batch_size: str, out: str) -> None:
    from mmcascade.apis import inference_detector, inference_sliced, init_detector
    from mmcascade.structures import CroppedMasks

    model = init_detector(
        os.path.join(REPO, "configs/cascade_rcnn/cascade_mask_rcnn_r50_fpn_1x_coco.py"), weights, device="cpu"
    )
    base = peak_rss_gb()
    start = time.perf_counter()
    if mode == "whole":
        result = inference_detector(model, image)
    else:
        result = inference_sliced(
            model, image, slice_size, overlap=0.2, batch_size=int(batch_size), max_per_img=100, progress=False
        )
    seconds = time.perf_counter() - start
    masks = result.pred_instances.masks
    mask_mb = sum(c.nbytes for c in masks.crops) / 1e6 if isinstance(masks, CroppedMasks) else masks.numel() / 1e6
    record = dict(
        mode=mode,
        seconds=seconds,
        peak_rss_gb=peak_rss_gb(),
        model_rss_gb=base,
        detections=len(result.pred_instances),
        mask_mb=mask_mb,
        masks=type(masks).__name__,
    )
    with open(out, "w") as f:
        json.dump(record, f)


def run_memory(args: argparse.Namespace) -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # speed_vs_mmdet's seeded weights
    from speed_vs_mmdet import make_weights

    with tempfile.TemporaryDirectory() as tmp:
        weights, image = os.path.join(tmp, "w.pth"), os.path.join(tmp, f"large_{args.size}.jpg")
        make_weights("mask", weights)
        make_large_image(image, args.size)
        print(f"{args.size}x{args.size} JPEG, {os.path.getsize(image) / 1e6:.1f} MB; cascade_mask_rcnn_r50_fpn, CPU")
        print(f"{'mode':<28}{'seconds':>9}{'peak RSS GB':>13}{'model GB':>10}{'dets':>6}{'masks MB':>10}  masks as")
        runs = [("whole", "1")] + [("sliced", b) for b in args.batch_sizes.split(",")]
        for mode, batch in runs:
            out = os.path.join(tmp, f"{mode}{batch}.json")
            cmd = [sys.executable, __file__, "_child", mode, weights, image, args.slice, batch, out]
            subprocess.run(cmd, check=True, cwd=REPO)
            r = json.load(open(out))
            name = "inference_detector" if mode == "whole" else f"sliced {args.slice}, batch {batch}"
            print(
                f"{name:<28}{r['seconds']:>9.1f}{r['peak_rss_gb']:>13.2f}{r['model_rss_gb']:>10.2f}"
                f"{r['detections']:>6}{r['mask_mb']:>10.1f}  {r['masks']}"
            )


def run_ap(args: argparse.Namespace) -> None:
    variants = [
        ("whole image", []),
        (f"sliced {args.slice}, nms", ["--slice", args.slice]),
        (f"sliced {args.slice}, nmm ios", ["--slice", args.slice, "--merge", "nmm", "--match-metric", "ios"]),
        (
            f"sliced {args.slice}, nmm ios, tiles only",
            ["--slice", args.slice, "--merge", "nmm", "--match-metric", "ios", "--no-full-image"],
        ),
    ]
    print(f"{LARGE_CFG} with {args.checkpoint}")
    print(f"{'inference':<40}{'box AP':>8}{'AP50':>7}{'AP_s':>7}{'mask AP':>9}{'AP50':>7}{'AP_s':>7}{'seconds':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, extra) in enumerate(variants):
            cmd = [sys.executable, "tools/test.py", LARGE_CFG, args.checkpoint, "--work-dir", f"{tmp}/{i}", *extra]
            start = time.perf_counter()
            proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
            seconds = time.perf_counter() - start
            if proc.returncode:
                raise SystemExit(proc.stdout[-2000:] + proc.stderr[-2000:])
            found = dict(re.findall(r"coco/(\w+): ([0-9.]+)", proc.stdout + proc.stderr))
            values = [float(found[k]) * 100 for k in ("bbox_mAP", "bbox_mAP_50", "bbox_mAP_s", "segm_mAP")]
            values += [float(found[k]) * 100 for k in ("segm_mAP_50", "segm_mAP_s")]
            print(
                f"{name:<40}" + "".join(f"{v:>{w}.1f}" for v, w in zip(values, (8, 7, 7, 9, 7, 7))) + f"{seconds:>9.0f}"
            )
    if args.picture:
        save_picture(args.checkpoint, args.slice, args.picture)


def save_picture(checkpoint: str, slice_size: str, path: str, score_thr: float = 0.3) -> None:
    """Whole-image and sliced detections on the first large image, side by side, on its top-left
    1024x768 corner (drawn at full resolution, so that the small objects can be seen)."""
    import cv2
    import numpy as np
    from mmengine.config import Config

    from mmcascade.apis import inference_detector, inference_sliced, init_detector
    from mmcascade.visualization import DetLocalVisualizer

    cfg = Config.fromfile(os.path.join(REPO, LARGE_CFG))
    image = os.path.join(REPO, cfg.test_dataloader.dataset.data_root, "val/00001.png")
    model = init_detector(cfg, checkpoint, device="cpu")
    img = cv2.imread(image)
    vis = DetLocalVisualizer.get_instance("sliced_picture", alpha=0.5, line_width=1.5)
    vis.dataset_meta = model.dataset_meta
    panels = []
    runs = (
        ("whole image", inference_detector(model, img)),
        (f"sliced {slice_size}", inference_sliced(model, img, slice_size)),
    )
    for title, result in runs:
        drawn = vis.draw_instances(img[..., ::-1].copy(), result.pred_instances, score_thr)[:768, :1024, ::-1]
        drawn = np.ascontiguousarray(drawn)
        cv2.rectangle(drawn, (0, 0), (330, 34), (255, 255, 255), -1)
        cv2.putText(drawn, title, (8, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2)
        panels.append(drawn)
    gap = np.full((768, 8, 3), 255, np.uint8)
    cv2.imwrite(path, np.concatenate([panels[0], gap, panels[1]], axis=1), [cv2.IMWRITE_JPEG_QUALITY, 80])
    print(f"saved {path}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child_memory(*sys.argv[2:8])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    mem = sub.add_parser("memory", help="peak RSS of whole-image and sliced inference on one large image")
    mem.add_argument("--size", type=int, default=10000, help="image side in pixels")
    mem.add_argument("--slice", default="2048", help="tile size, N or WxH")
    mem.add_argument("--batch-sizes", default="4,1", help="tiles per forward pass, one sliced run each")
    ap = sub.add_parser("ap", help="AP of whole-image and sliced testing on the generated large images")
    ap.add_argument("checkpoint", help="the main job's checkpoint")
    ap.add_argument("--slice", default="256x192", help="tile size, N or WxH")
    ap.add_argument("--picture", help="also save whole-image and sliced detections side by side (JPEG)")
    args = parser.parse_args()
    (run_memory if args.command == "memory" else run_ap)(args)


if __name__ == "__main__":
    main()
