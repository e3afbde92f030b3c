"""Checks and figures for one machine with a GPU (or, with ``--dry-run``, the CPU path in seconds).

    python scripts/device_check.py OUT_DIR [--dry-run] [--iters 200]

``--dry-run`` (CI) selects the CPU path and keeps to what takes seconds: the environment, the
ops check and the speed step on a small image; it names the steps it skips (the tests, training
and the CPU-vs-device comparison, which the test suite and the main job cover on a CPU) in
``summary.json``.

Run by ``scripts/device_check.sh``, which first installs what the machine lacks. Every figure and
log goes under OUT_DIR:

1. ``env.json``: torch / CUDA / GPU, mmcv and whether its compiled ops cover the device (the torch
   RoIAlign / NMS run where they do not).
2. ``ops.json``: the torch RoIAlign and NMS on the device against the same code on the CPU
   (forward and backward) and, where mmcv has kernels for the device, against those.
3. ``pytest.log``: the device-agnostic tests (``tests/unit/ops/test_ops.py``: the torch ops on the device
   against mmcv's CPU kernels) with ``MMCASCADE_TEST_DEVICE`` set to the device.
4. ``train/``: the main job's config trained for ``--iters`` iterations on the device.
5. ``cpu_vs_device.json``: that checkpoint's detections on the embedded val images, CPU vs device
   (fp32; boxes within 1e-3 px, scores within 1e-4).
6. ``speed.json``: cascade_rcnn_r50_fpn inference images/s at 1333x800, fp32 and autocast
   (bf16, and fp16 on CUDA).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAIN_CFG = "configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py"


def write(out: Path, name: str, data: dict) -> None:
    (out / name).write_text(json.dumps(data, indent=1))
    print(f"[device-check] {name}: {json.dumps(data)[:400]}", flush=True)


def env_info(device: str) -> dict:
    import mmcv
    import torch

    from mmcascade.ops import mmcv_has_ops_for

    info = dict(
        python=platform.python_version(),
        torch=torch.__version__,
        cuda=torch.version.cuda,
        device=device,
        mmcv=mmcv.__version__,
        mmcv_ops_cpu=mmcv_has_ops_for("cpu"),
        mmcv_ops_device=mmcv_has_ops_for(torch.device(device).type),
        threads=torch.get_num_threads(),
    )
    if device.startswith("cuda"):
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def check_ops(device: str) -> dict:
    import torch

    from mmcascade.ops import batched_nms, mmcv_has_ops_for, mmcv_ops, roi_align_torch

    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 64, 50, 76, generator=g)
    xy = torch.rand(300, 2, generator=g) * torch.tensor([300.0, 200.0])
    rois = torch.cat(
        [torch.randint(0, 2, (300, 1), generator=g).float(), xy, xy + torch.rand(300, 2, generator=g) * 150 + 1], 1
    )
    res = {}
    a, b = feat.clone().requires_grad_(), feat.to(device).requires_grad_()
    ref = roi_align_torch(a, rois, 7, 0.25, 0, "avg", True)
    dev = roi_align_torch(b, rois.to(device), 7, 0.25, 0, "avg", True)
    up = torch.randn(ref.shape, generator=g)
    (ref * up).sum().backward()
    (dev * up.to(device)).sum().backward()
    res["roi_align_forward_max_abs"] = (dev.detach().cpu() - ref.detach()).abs().max().item()
    res["roi_align_backward_max_abs"] = (b.grad.cpu() - a.grad).abs().max().item()
    boxes = torch.cat([xy, xy + torch.rand(300, 2, generator=g) * 80 + 1], 1)
    scores, labels = torch.rand(300, generator=g), torch.randint(0, 5, (300,), generator=g)
    cfg = dict(type="nms", iou_threshold=0.5, impl="torch")
    keep_cpu = batched_nms(boxes, scores, labels, cfg)[1]
    keep_dev = batched_nms(boxes.to(device), scores.to(device), labels.to(device), cfg)[1]
    res["nms_keep_equal"] = bool(torch.equal(keep_cpu, keep_dev.cpu()))
    if mmcv_has_ops_for(torch.device(device).type):
        m = mmcv_ops().roi_align(feat.to(device), rois.to(device), (7, 7), 0.25, 0, "avg", True)
        res["roi_align_vs_mmcv_max_abs"] = (m.cpu() - ref.detach()).abs().max().item()
        keep_m = mmcv_ops().batched_nms(
            boxes.to(device), scores.to(device), labels.to(device), dict(type="nms", iou_threshold=0.5)
        )[1]
        res["nms_vs_mmcv_equal"] = bool(torch.equal(keep_m.cpu(), keep_cpu))
    res["ok"] = (
        res["roi_align_forward_max_abs"] <= 1e-5 and res["roi_align_backward_max_abs"] <= 1e-4 and res["nms_keep_equal"]
    )
    return res


def run(cmd: list[str], log: Path, env: dict | None = None) -> int:
    with open(log, "w") as f:
        proc = subprocess.run(cmd, cwd=REPO, stdout=f, stderr=subprocess.STDOUT, env=env)
    print(f"[device-check] {' '.join(cmd[:4])} ... -> exit {proc.returncode} (log: {log})", flush=True)
    return proc.returncode


def compare_detections(ckpt: str, device: str, data_root: str, num_images: int) -> dict:
    from mmcascade.apis import inference_detector, init_detector

    val = json.loads(Path(data_root, "annotations", "val.json").read_text())
    images = [Path(data_root, im["file_name"]) for im in val["images"][:num_images]]
    cpu_model = init_detector(MAIN_CFG, ckpt, device="cpu")
    dev_model = init_detector(MAIN_CFG, ckpt, device=device)
    worst_box = worst_score = 0.0
    same_counts = True
    for img in images:
        a = inference_detector(cpu_model, str(img)).pred_instances
        b = inference_detector(dev_model, str(img)).pred_instances
        if len(a) != len(b):
            same_counts = False
            continue
        if len(a):
            worst_box = max(worst_box, (a.bboxes - b.bboxes.cpu()).abs().max().item())
            worst_score = max(worst_score, (a.scores - b.scores.cpu()).abs().max().item())
    return dict(
        images=len(images),
        same_counts=same_counts,
        max_box_diff_px=worst_box,
        max_score_diff=worst_score,
        ok=same_counts and worst_box <= 1e-3 and worst_score <= 1e-4,
    )


def speed(device: str, size: tuple[int, int], repeats: int, dtypes: list[str] | None = None) -> dict:
    import torch
    from mmengine.config import Config

    from mmcascade.registry import MODELS
    from mmcascade.structures import DetDataSample

    cfg = Config.fromfile(str(REPO / "configs/_base_/models/cascade-rcnn_r50_fpn.py")).model
    cfg.backbone.init_cfg = None
    torch.manual_seed(0)
    model = MODELS.build(cfg).to(device).eval()
    h, w = size
    img = torch.randint(0, 255, (3, h, w), dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0)))
    data = model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)
    dtypes = dtypes or ["float32", "bfloat16"] + (["float16"] if device.startswith("cuda") else [])
    res = dict(image=f"{h}x{w}", repeats=repeats)

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for name in dtypes:
        model.inference_dtype = name
        with torch.no_grad():
            model(data["inputs"], data["data_samples"], mode="predict")  # warm-up
            sync()
            t0 = time.perf_counter()
            for _ in range(repeats):
                model(data["inputs"], data["data_samples"], mode="predict")
            sync()
        res[f"{name}_images_per_s"] = repeats / (time.perf_counter() - t0)
    return res


def train_and_compare(out: Path, device: str, iters: int) -> list[str]:
    """Train the main job's config for ``iters`` iterations on ``device``, then compare its
    detections on CPU and on the device. Returns the names of the failed steps."""
    work = out / "train"
    # The embedded train split has 240 images at batch 2: one epoch is 120 iterations.
    epochs = max(1, -(-iters // 120))
    opts = [
        f"train_cfg.max_epochs={epochs}",
        f"train_cfg.val_interval={epochs}",
        "default_hooks.checkpoint.interval=1",
        "default_hooks.logger.interval=10",
    ]
    data_root = str(REPO / "data" / "embedded") + "/"
    t0 = time.perf_counter()
    if run(
        [sys.executable, "tools/train.py", MAIN_CFG, "--work-dir", str(work), "--cfg-options", *opts], out / "train.log"
    ):
        return ["train"]
    write(
        out, "train.json", dict(iterations=epochs * 120, epochs=epochs, device=device, seconds=time.perf_counter() - t0)
    )
    cmp = compare_detections(str(work / f"epoch_{epochs}.pth"), device, data_root, 20)
    write(out, "cpu_vs_device.json", cmp)
    return [] if cmp["ok"] else ["cpu_vs_device"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--dry-run", action="store_true", help="the CPU path in seconds: no training, a small image")
    parser.add_argument("--iters", type=int, default=200)
    args = parser.parse_args()
    import torch

    out = Path(args.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    device = "cpu" if args.dry_run or not torch.cuda.is_available() else "cuda"
    sys.path.insert(0, str(REPO))
    from mmcascade.utils import register_all_modules

    register_all_modules()
    failures = []
    write(out, "env.json", env_info(device))
    ops = check_ops(device)
    write(out, "ops.json", ops)
    if not ops["ok"]:
        failures.append("ops")
    env = dict(os.environ, MMCASCADE_TEST_DEVICE=device)
    skipped = []
    if args.dry_run:  # on the CPU these are the test suite's and the main job's own runs
        skipped += ["pytest", "train", "cpu_vs_device"]
    elif run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/ops/test_ops.py"],
        out / "pytest.log",
        env,
    ):
        failures.append("pytest")
    if not args.dry_run:
        failures += train_and_compare(out, device, args.iters)
    size = (128, 192) if args.dry_run else (800, 1333)
    write(out, "speed.json", speed(device, size, 1 if args.dry_run else 20, ["float32"] if args.dry_run else None))
    write(out, "summary.json", dict(device=device, dry_run=args.dry_run, failures=failures, skipped=skipped))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
