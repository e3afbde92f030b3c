"""CPU speed and memory of mmcascade beside MMDetection 3.x, alternating the two in one run.

    python benchmarks/speed_vs_mmdet.py infer [--arch box|mask] [--rounds 3] [--repeats 3] \
        [--mmdet-python /path/to/venv/bin/python] [--bf16] [--deploy]
    python benchmarks/speed_vs_mmdet.py train [--rounds 2] [--repeats 2] [--mmdet-python ...]
    python benchmarks/speed_vs_mmdet.py infer --config-file FOLDER/CONFIG.py --mmdet-python ...

``--config-file`` times any of MMDetection's own configs (a path relative to MMDetection's
``configs/`` folder, or a file) instead of the R-50 cascade: both toolboxes read the same file
(mmcascade with the registry scope adopted), with the same seeded weights (the box heads'
background logit lowered as well, so that every backbone's image gives 100 detections).

Both toolboxes get the same published-layout weights (cascade_rcnn_r50_fpn or the Mask variant,
seeded, with the classifiers scaled so that the image gives 100 detections) and the same input:

- ``infer``: one 800x1216 image file through ``init_detector(config, checkpoint, device='cpu')``
  and ``inference_detector`` -- what a user gets. Prints per-round medians, the overall median
  latency and its ratio to MMDetection's, peak RSS of each process, and whether the detections
  agree (same count, boxes within 1e-2 px, scores within 1e-4; masks: share of equal pixels).
  ``--bf16`` adds a third contestant: mmcascade with ``init_detector(..., bf16=True)``.
  ``--deploy`` exports the model once (``mmcascade.deploy.export_onnx``; its time and file size
  are printed) and adds ONNX Runtime and OpenVINO through ``init_detector(config, 'model.onnx',
  backend=...)``; the speed-up of the faster runtime over MMDetection is printed last.
  ``--int8`` (with ``--deploy``) adds that file quantized to int8 by NNCF
  (:func:`mmcascade.quantization.openvino_int8.quantize_file`, calibrated on the benchmark image:
  speed only; accuracy is measured by ``mmcascade export --int8`` on a val set) in OpenVINO.
- ``train``: seconds per training step (forward, backward, SGD step) on a batch of two 800x1216
  images with ten boxes each, for MMDetection's defaults, mmcascade's defaults and mmcascade with
  ``channels_last`` + activation checkpointing in layer2-3 (``with_cp``); peak RSS of each.

Every contestant runs in a fresh child process (so peak RSS is its own), in the order
MMDetection, mmcascade, ... within each round. Without ``--mmdet-python`` (a venv with mmdet 3.x
and mmcv 2.1) only mmcascade runs, with a message.
"""

import argparse
import atexit
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from config_file_models import build_from_file, calibrate_norms

from training_parity import CONFIGS, REPO, build_side, data_samples, make_batch

H, W = 800, 1216


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


CONFIG_FILE: str | None = None  # --config-file: one MMDetection config file for both toolboxes


CALIBRATE = False  # --calibrate-norms


def make_weights(arch: str, path: str) -> None:
    """Seeded weights in the published layout; classifier weights x100 so that the image gives 100
    detections above the score threshold, and the RPN's objectness weights x100 so that proposals
    are ranked by clear score differences (as a trained RPN's; fresh ones score every anchor
    within 1e-7 of 0.5, and the order of such ties is float rounding)."""
    model = build_from_file("ours", CONFIG_FILE) if CONFIG_FILE else build_side("ours", arch, take_all=False)[0]
    torch.manual_seed(1)
    model.init_weights()
    if CALIBRATE:
        calibrate_norms(model)
    with torch.no_grad():
        heads = model.roi_head.bbox_head
        for head in heads if isinstance(heads, torch.nn.ModuleList) else [heads]:
            head.fc_cls.weight.mul_(100.0)
            if CONFIG_FILE:  # other backbones' random features may all read as background: not here
                head.fc_cls.bias[-1] = -20.0
        model.rpn_head.rpn_cls.weight.mul_(100.0)
    from mmcascade.config.class_names import COCO_CLASSES

    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(classes=tuple(COCO_CLASSES)))), path)


def make_image(path: str) -> None:
    import cv2

    g = np.random.default_rng(0)
    # Smooth blobs rather than white noise: something for the RPN to propose.
    small = g.integers(0, 255, (H // 16, W // 16, 3), dtype=np.uint8)
    img = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
    cv2.imwrite(path, img)


def config_path(side: str, arch: str) -> str:
    if CONFIG_FILE:
        return CONFIG_FILE
    if side == "mmdet":
        import mmdet

        name = CONFIGS[arch].replace("cascade_mask_rcnn", "cascade-mask-rcnn").replace("cascade_rcnn", "cascade-rcnn")
        return os.path.join(os.path.dirname(mmdet.__file__), ".mim", "configs", "cascade_rcnn", name + ".py")
    return os.path.join(REPO, "configs", "cascade_rcnn", CONFIGS[arch] + ".py")


DEPLOY_BACKENDS = ("onnxruntime", "openvino")
INT8 = "openvino int8"


def child_infer(side: str, arch: str, weights: str, image: str, repeats: int, out: str, variant: str) -> dict:
    from mmengine.logging import MMLogger

    MMLogger.get_instance("mmengine").setLevel("ERROR")
    if side == "mmdet":
        from mmdet.apis import inference_detector, init_detector

        model = init_detector(config_path(side, arch), weights, device="cpu")
    else:
        sys.path.insert(0, REPO)
        from mmcascade.apis import inference_detector, init_detector

        if variant in DEPLOY_BACKENDS:  # weights: the exported .onnx
            model = init_detector(config_path(side, arch), weights, backend=variant)
        elif variant == INT8:  # weights: the int8 OpenVINO IR
            model = init_detector(config_path(side, arch), weights, backend="openvino")
        else:
            model = init_detector(config_path(side, arch), weights, device="cpu", bf16=variant == "bf16")
    result = inference_detector(model, image)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = inference_detector(model, image)
        times.append(time.perf_counter() - t0)
    pred = result.pred_instances
    dets = dict(bboxes=pred.bboxes.float(), scores=pred.scores.float(), labels=pred.labels)
    if "masks" in pred:
        dets["masks"] = pred.masks.bool()
    torch.save(dets, out)
    return dict(times=times, rss=peak_rss_gb())


def child_train(side: str, arch: str, weights: str, repeats: int, variant: str) -> dict:
    if side == "ours":
        sys.path.insert(0, REPO)
    model, data_sample, bitmap_masks = build_side(side, arch, take_all=False, fast=variant == "fast")
    model.load_state_dict(torch.load(weights, weights_only=True)["state_dict"])
    model.train()
    inputs, images = make_batch(False)
    samples = data_samples(images, data_sample, bitmap_masks, arch == "mask")
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

    def step(seed: int) -> None:
        torch.manual_seed(seed)
        losses = model.loss(inputs, samples)
        total = sum(sum(v) if isinstance(v, (list, tuple)) else v for k, v in losses.items() if "loss" in k)
        optim.zero_grad()
        total.backward()
        optim.step()

    step(0)
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        step(i + 1)
        times.append(time.perf_counter() - t0)
    return dict(times=times, rss=peak_rss_gb())


def match(ref: dict, ours: dict) -> torch.Tensor:
    """For each reference detection, the index of the same detection in ``ours``: same label and
    the nearest box (detections with equal scores may come in either order)."""
    order = []
    free = torch.ones(len(ours["bboxes"]), dtype=torch.bool)
    for box, label in zip(ref["bboxes"], ref["labels"]):
        dist = (ours["bboxes"] - box).abs().amax(1)
        dist[(ours["labels"] != label) | ~free] = float("inf")
        j = int(dist.argmin())
        free[j] = False
        order.append(j)
    return torch.tensor(order, dtype=torch.long)


def compare(ref: dict, ours: dict) -> str:
    if ref["bboxes"].shape != ours["bboxes"].shape:
        return f"different counts: {len(ref['bboxes'])} vs {len(ours['bboxes'])}"
    n = len(ref["bboxes"])
    if n == 0:
        return "both empty"
    j = match(ref, ours)
    box = (ref["bboxes"] - ours["bboxes"][j]).abs().max().item()
    score = (ref["scores"] - ours["scores"][j]).abs().max().item()
    same_labels = bool(torch.equal(ref["labels"], ours["labels"][j]))
    in_order = bool(torch.equal(j, torch.arange(n)))
    text = (
        f"{n} detections each, labels {'equal' if same_labels else 'DIFFER'}, max |box diff| {box:.2e} px, "
        f"max |score diff| {score:.2e} ({'same order' if in_order else 'equal-score detections reordered'})"
    )
    if "masks" in ref and "masks" in ours:
        agree = (ref["masks"] == ours["masks"][j]).float().mean().item()
        text += f", mask pixels equal {100 * agree:.4f}%"
    return text


def run_child(code: str, what: str) -> None:
    """Run ``code`` in a fresh interpreter (so no contestant shares its memory) and print its
    last line; stop with its error output when it fails."""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed:\n{proc.stderr[-3000:]}")
    print(proc.stdout.strip().splitlines()[-1])


def export_for_benchmark(arch: str, weights: str, tmp: str) -> str:
    """Export ``weights`` once (in a child process, :func:`run_child`); prints
    the export time and the file size. The detections are compared below, with the others'."""
    path = os.path.join(tmp, "model.onnx")
    code = (
        f"import sys; sys.path.insert(0, {REPO!r}); from mmcascade.deploy import export_onnx; "
        "from mmcascade.apis import init_detector; "
        f"m = init_detector({config_path('ours', arch)!r}, {weights!r}, device='cpu'); "
        f"r = export_onnx(m, {path!r}, verify=False, checkpoint={weights!r}); "
        "print(f'exported in {r.seconds:.1f} s, {r.size_mb:.0f} MB')"
    )
    run_child(code, "export")
    return path


def quantize_for_benchmark(arch: str, onnx_file: str, image: str, tmp: str) -> str:
    """``onnx_file`` quantized to int8 (NNCF, calibrated on the benchmark image), in a child process."""
    path = os.path.join(tmp, "model_int8.xml")
    code = (
        f"import sys, time; sys.path.insert(0, {REPO!r}); "
        "from mmcascade.apis import init_detector; from mmcascade.deploy import read_metadata; "
        "from mmcascade.deploy.contract import write_metadata; "
        "from mmcascade.quantization.calibration import graph_feeds; "
        "from mmcascade.quantization.openvino_int8 import quantize_file, save_model; "
        f"m = init_detector({config_path('ours', arch)!r}, None, device='cpu'); t = time.perf_counter(); "
        f"save_model(quantize_file({onnx_file!r}, list(graph_feeds(m, [{image!r}]))), {path!r}); "
        f"write_metadata({path!r}, read_metadata({onnx_file!r})); "
        "print(f'quantized to int8 in {time.perf_counter() - t:.1f} s')"
    )
    run_child(code, "int8 quantization")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["infer", "train"])
    parser.add_argument("--arch", choices=sorted(CONFIGS), default="box")
    parser.add_argument("--rounds", type=int, default=None, help="alternations (infer 3, train 2)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per process (infer 3, train 2)")
    parser.add_argument("--mmdet-python", help="interpreter of a venv with MMDetection 3.x")
    parser.add_argument("--bf16", action="store_true", help="infer: also mmcascade with bf16=True")
    parser.add_argument(
        "--deploy", action="store_true", help="infer: also the exported model in ONNX Runtime and OpenVINO"
    )
    parser.add_argument("--int8", action="store_true", help="infer --deploy: also the file quantized to int8")
    parser.add_argument(
        "--config-file", help="infer: an MMDetection config (relative to its configs/ folder, or a file)"
    )
    parser.add_argument("--calibrate-norms", action="store_true", help="BatchNorm statistics from a random batch")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--variant", default="default", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--image", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global CONFIG_FILE, CALIBRATE
    CALIBRATE = args.calibrate_norms
    if args.config_file and not os.path.isfile(args.config_file):
        if not args.mmdet_python:
            raise SystemExit("--config-file relative to MMDetection's configs needs --mmdet-python")
        code = "import mmdet, os; print(os.path.join(os.path.dirname(mmdet.__file__), '.mim', 'configs'))"
        proc = subprocess.run([args.mmdet_python, "-c", code], capture_output=True, text=True, check=True)
        where = proc.stdout.strip().splitlines()[-1]
        args.config_file = os.path.join(where, args.config_file)
    CONFIG_FILE = args.config_file
    if CONFIG_FILE and args.task != "infer":
        raise SystemExit("--config-file: infer only")
    rounds = args.rounds or (3 if args.task == "infer" else 2)
    repeats = args.repeats or (3 if args.task == "infer" else 2)
    if args.child:
        if args.task == "infer":
            res = child_infer(args.child, args.arch, args.weights, args.image, repeats, args.out, args.variant)
        else:
            res = child_train(args.child, args.arch, args.weights, repeats, args.variant)
        print("RESULT " + json.dumps(res))
        return

    tmp = tempfile.mkdtemp(prefix="speed-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # weights, exports: hundreds of MB
    weights, image = os.path.join(tmp, "weights.pth"), os.path.join(tmp, "image.png")
    make_weights(args.arch, weights)
    make_image(image)
    contestants = []
    if args.mmdet_python:
        contestants.append(("MMDetection", "mmdet", args.mmdet_python, "default"))
    else:
        print("MMDetection not given (--mmdet-python): timing mmcascade alone")
    contestants.append(("mmcascade", "ours", sys.executable, "default"))
    if args.task == "infer" and args.bf16:
        contestants.append(("mmcascade bf16", "ours", sys.executable, "bf16"))
    onnx_file = int8_file = None
    if args.task == "infer" and args.deploy:
        onnx_file = export_for_benchmark(args.arch, weights, tmp)
        contestants += [(f"mmcascade {b}", "ours", sys.executable, b) for b in DEPLOY_BACKENDS]
        if args.int8:
            int8_file = quantize_for_benchmark(args.arch, onnx_file, image, tmp)
            contestants.append((f"mmcascade {INT8}", "ours", sys.executable, INT8))
    if args.task == "train":
        contestants.append(("mmcascade channels_last+with_cp", "ours", sys.executable, "fast"))
    times = {c[0]: [] for c in contestants}
    rss = {c[0]: [] for c in contestants}
    round_medians = {c[0]: [] for c in contestants}
    dets = {}
    print(
        f"{args.task}, {os.path.basename(CONFIG_FILE) if CONFIG_FILE else CONFIGS[args.arch]}, "
        f"{rounds} rounds x {repeats} timed runs, "
        f"threads {torch.get_num_threads()}, input {'1 x' if args.task == 'infer' else '2 x'} {H}x{W}"
    )
    for r in range(rounds):
        for name, side, python, variant in contestants:
            out = os.path.join(tmp, f"{side}-{variant}.pt")
            cmd = [
                python,
                os.path.abspath(__file__),
                args.task,
                "--child",
                side,
                "--arch",
                args.arch,
                "--repeats",
                str(repeats),
                "--variant",
                variant,
                "--weights",
                {**dict.fromkeys(DEPLOY_BACKENDS, onnx_file), INT8: int8_file}.get(variant, weights),
                "--image",
                image,
                "--out",
                out,
            ] + (["--config-file", CONFIG_FILE] if CONFIG_FILE else [])
            proc = subprocess.run(cmd, capture_output=True, text=True)
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                raise SystemExit(f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
            res = json.loads(lines[-1][len("RESULT ") :])
            times[name] += res["times"]
            rss[name].append(res["rss"])
            round_medians[name].append(statistics.median(res["times"]))
            print(
                f"  round {r + 1} {name:34s} median {round_medians[name][-1]:7.3f} s  peak RSS {res['rss']:.2f} GB",
                flush=True,
            )
            if args.task == "infer" and r == 0:
                dets[name] = torch.load(out, weights_only=True)
    ref = "MMDetection" if args.mmdet_python else None
    print()
    for name, *_ in contestants:
        med = statistics.median(times[name])
        line = f"{name:34s} median {med:7.3f} s  peak RSS {max(rss[name]):.2f} GB"
        if ref and name != ref:
            ratio = statistics.median(times[ref]) / med
            pairs = [a / b for a, b in zip(round_medians[ref], round_medians[name])]
            rss_ratio = max(rss[name]) / max(rss[ref])
            line += f"  speed-up {ratio:.2f}x (per round {', '.join(f'{p:.2f}' for p in pairs)}), RSS {rss_ratio:.2f}x"
        print(line)
    if args.task == "infer":
        base = dets.get(ref or "mmcascade")
        for name in dets:
            if name != (ref or "mmcascade"):
                print(f"detections {name} vs {ref or 'mmcascade'}: {compare(base, dets[name])}")
    if onnx_file is not None:
        fastest = min((f"mmcascade {b}" for b in DEPLOY_BACKENDS), key=lambda n: statistics.median(times[n]))
        against = ref or "mmcascade"
        ratio = statistics.median(times[against]) / statistics.median(times[fastest])
        print(f"faster runtime: {fastest}, {ratio:.2f}x {against}'s speed")


if __name__ == "__main__":
    main()
