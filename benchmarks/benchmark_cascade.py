"""CPU benchmark of cascade_rcnn_r50_fpn (random weights, which do not change the cost).

    python benchmarks/benchmark_cascade.py infer  # latency on one 800x1216 image + dense layers alone
    python benchmarks/benchmark_cascade.py train  # seconds per batch-2 training step, peak RSS
    python benchmarks/benchmark_cascade.py train-embedded  # the main job's model on embedded batches

``infer`` prints the median end-to-end latency, the median time of the dense layers alone
(backbone, FPN, RPN conv, the three stages' FC layers on 1000 RoIs) and their ratio; the
target is total <= 1.15x dense. Peak RSS is the process maximum (``ru_maxrss``), so run one
mode per process for clean memory figures.
"""

import argparse
import os.path as osp
import statistics

import torch
from mmengine.config import Config

from mmcascade.analysis.benchmarking import peak_memory_gb, time_calls
from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample
from mmcascade.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def peak_rss_gb() -> float:
    return peak_memory_gb("cpu")


def build(base: str = "cascade-rcnn_r50_fpn", with_cp: bool | tuple[bool, ...] = False, channels_last: bool = False):
    cfg = Config.fromfile(osp.join(REPO, "configs/_base_/models", f"{base}.py")).model
    cfg.backbone.update(init_cfg=None, with_cp=with_cp)
    cfg.channels_last = channels_last
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def timed(fn, repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of ``repeats`` calls of ``fn()`` after ``warmup`` untimed ones."""
    return time_calls(lambda _: fn(), repeats, warmup, progress=False).seconds


def image_batch(model, h: int = 800, w: int = 1216) -> dict:
    """One random ``h x w`` test image, preprocessed by ``model``."""
    img = torch.randint(0, 255, (3, h, w), dtype=torch.uint8)
    sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0)))
    return model.data_preprocessor(dict(inputs=[img], data_samples=[sample]), False)


def infer_timings(model, data: dict, repeats: int) -> tuple[float, float]:
    """Median seconds of the whole ``predict`` and of its dense layers alone (backbone, FPN,
    RPN conv, every stage's box head on 1000 RoIs), timed alternately."""
    roi_feats = torch.randn(1000, 256, 7, 7)

    def full():
        with torch.no_grad():
            model(data["inputs"], data["data_samples"], mode="predict")

    def dense():
        with torch.no_grad():
            feats = model.extract_feat(data["inputs"])
            for f in feats:
                torch.relu(model.rpn_head.rpn_conv(f))
            for head in model.roi_head.bbox_head:
                head(roi_feats)

    full(), dense()  # warm-up
    totals, denses = [], []
    for _ in range(repeats):  # interleaved, so that drift in machine speed hits both alike
        totals += timed(full, 1, warmup=0)
        denses += timed(dense, 1, warmup=0)
    return statistics.median(totals), statistics.median(denses)


def bench_infer(repeats: int, channels_last: bool = False, profile: bool = False) -> None:
    model = build(channels_last=channels_last).eval()
    data = image_batch(model)
    total, dense_t = infer_timings(model, data, repeats)
    if profile:
        with torch.no_grad():
            print_op_profile(lambda: model(data["inputs"], data["data_samples"], mode="predict"))
    print(f"threads: {torch.get_num_threads()}  image: 800x1216  repeats: {repeats}  channels_last: {channels_last}")
    print(f"proposals per FPN level (RoIAlign cost grows with RoI size): {proposal_levels(model, data)}")
    print(f"end-to-end inference, median: {total:.3f} s")
    print(f"dense layers alone, median:   {dense_t:.3f} s")
    print(f"ratio total / dense:          {total / dense_t:.3f}  (target <= 1.15)")
    print(f"peak RSS:                     {peak_rss_gb():.2f} GB")


def proposal_rois(model, data: dict) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor]:
    """FPN features, the RPN's test proposals as RoIs ``(K, 5)`` and the FPN level each RoI is
    pooled from ``(K,)`` int64 (random weights decide where they land)."""
    from mmcascade.models.roi_heads.roi_extractors import map_roi_levels
    from mmcascade.structures import bbox2roi

    with torch.no_grad():
        feats = model.extract_feat(data["inputs"])
        proposals = model.rpn_head.predict(feats, data["data_samples"])
    rois = bbox2roi([p.bboxes for p in proposals])
    extractor = model.roi_head.bbox_roi_extractor[0]
    return feats, rois, map_roi_levels(rois, extractor.num_inputs, extractor.finest_scale)


def proposal_levels(model, data: dict) -> list[int]:
    """How many of the RPN's test proposals each RoI level pools."""
    levels = proposal_rois(model, data)[2]
    return torch.bincount(levels, minlength=model.roi_head.bbox_roi_extractor[0].num_inputs).tolist()


def bench_train(
    repeats: int, with_cp: bool | tuple[bool, ...] = False, channels_last: bool = False, profile: bool = False
) -> None:
    from model_inputs import random_train_batch

    model = build(with_cp=with_cp, channels_last=channels_last).train()
    optim = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)
    data = random_train_batch(model, 2, 800, 1216)

    def step():
        losses = model(**data, mode="loss")
        total = sum(v for k, v in losses.items() if "loss" in k)
        optim.zero_grad()
        total.backward()
        optim.step()

    times = timed(step, repeats)
    print(
        f"threads: {torch.get_num_threads()}  batch: 2 x 800x1216  repeats: {repeats}  with_cp: {with_cp}  "
        f"channels_last: {channels_last}"
    )
    print(f"training step, median: {statistics.median(times):.2f} s  (all: {', '.join(f'{t:.2f}' for t in times)})")
    print(f"peak RSS: {peak_rss_gb():.2f} GB")
    if profile:
        print_op_profile(step)


def print_op_profile(fn, rows: int = 15) -> None:
    """One more call of ``fn`` under the torch profiler: the ops by self CPU time, and the share
    of the dense layers (convolutions forward and backward, matrix products)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = prof.key_averages()
    print(events.table(sort_by="self_cpu_time_total", row_limit=rows))
    total = sum(e.self_cpu_time_total for e in events)
    dense_ops = ("aten::convolution_backward", "aten::mkldnn_convolution", "aten::mm", "aten::addmm")
    dense = sum(e.self_cpu_time_total for e in events if e.key in dense_ops)
    print(f"dense layers (conv forward / backward, mm, addmm): {100 * dense / total:.1f}% of {total / 1e6:.1f} s")


def bench_train_embedded(repeats: int) -> None:
    from mmengine.runner import Runner

    cfg = Config.fromfile(osp.join(REPO, "configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py"))
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    batches = []
    for batch in Runner.build_dataloader(cfg.train_dataloader, seed=0):
        batches.append(batch)
        if len(batches) == repeats + 1:
            break
    model = MODELS.build(cfg.model).train()
    model.init_weights()
    optim = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    it = iter(batches)

    def step():
        losses = model(**model.data_preprocessor(next(it), True), mode="loss")
        total = sum(v for k, v in losses.items() if "loss" in k)
        optim.zero_grad()
        total.backward()
        optim.step()

    times = timed(step, repeats)
    print(f"threads: {torch.get_num_threads()}  embedded main-job model, batch 2  steps: {repeats}")
    print(f"training step, median: {statistics.median(times):.3f} s")
    print(f"peak RSS: {peak_rss_gb():.2f} GB")


def stages_with_cp(digits: str) -> bool | tuple[bool, ...]:
    """``''`` -> False; ``'1234'`` -> True; ``'23'`` -> (False, True, True, False)."""
    if not set(digits) <= set("1234"):
        raise SystemExit(f"--with-cp takes stage digits 1 to 4, got {digits!r}")
    flags = tuple(str(i) in digits for i in range(1, 5))
    return all(flags) or (flags if any(flags) else False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=["infer", "train", "train-embedded"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--with-cp",
        nargs="?",
        const="1234",
        default="",
        help="train: activation checkpointing in the ResNet blocks (backbone.with_cp); "
        "alone: every stage; with digits, those stages only, e.g. 2 or 23 (layer2, layer3)",
    )
    parser.add_argument(
        "--channels-last",
        action="store_true",
        help="infer / train: the detector's channels_last option (NHWC convolutions)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print the ops of one more step (train) or inference (infer) by CPU time"
    )
    parser.add_argument(
        "--mmap-threshold",
        type=int,
        default=0,
        help="glibc mmap threshold in bytes (env_cfg.malloc_mmap_threshold); 0: the default",
    )
    args = parser.parse_args()
    if args.mmap_threshold:
        from mmcascade.utils.memory import set_malloc_mmap_threshold

        print(f"malloc mmap threshold: {args.mmap_threshold} bytes ({set_malloc_mmap_threshold(args.mmap_threshold)})")
    register_all_modules()
    torch.manual_seed(0)
    if args.mode == "train":
        bench_train(args.repeats, stages_with_cp(args.with_cp), args.channels_last, args.profile)
    elif args.mode == "infer":
        bench_infer(args.repeats, args.channels_last, args.profile)
    else:
        bench_train_embedded(args.repeats)


if __name__ == "__main__":
    main()
