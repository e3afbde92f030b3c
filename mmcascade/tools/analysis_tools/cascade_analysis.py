"""What each stage of a trained cascade contributes, on a COCO-format val set.

    python tools/analysis_tools/cascade_analysis.py CONFIG CHECKPOINT [--out-dir DIR] [--max-images N]

Prints the stage-performance table (box AP, and AP at each IoU 0.50 ... 0.95, for every stage's
own detections, the ensemble, and earlier stages' boxes with the ensemble's scores) and saves:

- ``roi_iou_distribution.png``: IoU with ground truth of the RoIs entering each stage;
- ``regression_iou_curve.png``: each stage regressor's output IoU against its input IoU;
- ``cascade_analysis.json``: every number behind the table and the plots.
"""

import argparse
import json
import os
import os.path as osp

import numpy as np
from mmengine.config import DictAction
from tqdm import tqdm

from mmcascade.analysis.cascade_stages import detections, iou_pairs, stage_outputs, variants
from mmcascade.analysis.stage_report import (
    evaluate_variants,
    plot_iou_distribution,
    plot_regression_curves,
    regression_curve,
    stage_table,
)
from mmcascade.apis import init_detector
from mmcascade.utils import default_device


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("checkpoint")
    parser.add_argument("--out-dir", default="work_dirs/cascade_analysis")
    parser.add_argument("--max-images", type=int, help="analyse only the first N images")
    parser.add_argument("--device", default=default_device(), help="default: cuda when available, else cpu")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction)
    return parser.parse_args(argv)


def build_loader(cfg, max_images: int | None):
    """The config's test dataloader (its pipeline must load ground-truth boxes)."""
    from mmengine.runner import Runner

    loader_cfg = cfg.test_dataloader.copy()
    steps = [s["type"] for s in loader_cfg.dataset.pipeline]
    if not any(t.endswith("LoadAnnotations") for t in steps):
        raise ValueError(
            f"{cfg.filename}: test_dataloader's pipeline has no LoadAnnotations, so the RoIs "
            f"cannot be compared with ground truth"
        )
    if max_images:
        loader_cfg.dataset.indices = max_images
    loader_cfg.update(num_workers=0, persistent_workers=False)
    return Runner.build_dataloader(loader_cfg)


def analyse(model, loader) -> tuple[dict, list[np.ndarray], list[int]]:
    """Per-variant detections, per-stage (input IoU, output IoU) pairs, image ids."""
    results: dict[str, list[dict]] = {}
    stage_pairs: list[list[np.ndarray]] = []
    img_ids = []
    for data in tqdm(loader, desc="cascade analysis", unit="batch"):
        outputs, samples = stage_outputs(model, data)
        for out, sample in zip(outputs, samples):
            img_ids.append(out.img_id)
            for name, (boxes, probs) in variants(out).items():
                b, s, lb = detections(boxes, probs, model.roi_head.test_cfg)
                results.setdefault(name, []).append(
                    dict(img_id=out.img_id, bboxes=b.numpy(), scores=s.numpy(), labels=lb.numpy())
                )
            gt = sample.gt_instances
            keep = ~gt.ignore_flags.bool() if "ignore_flags" in gt else slice(None)
            for s, pairs in enumerate(iou_pairs(out, gt.bboxes[keep].float(), gt.labels[keep])):
                if len(stage_pairs) <= s:
                    stage_pairs.append([])
                stage_pairs[s].append(pairs)
    return results, [np.concatenate(p) for p in stage_pairs], img_ids


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    model = init_detector(args.config, args.checkpoint, device=args.device, cfg_options=args.cfg_options)
    cfg = model.cfg
    loader = build_loader(cfg, args.max_images)
    dataset = loader.dataset
    results, stage_pairs, img_ids = analyse(model, loader)
    rows = evaluate_variants(cfg.test_evaluator.ann_file, results, dataset.cat_ids, img_ids)
    print(stage_table(rows))
    os.makedirs(args.out_dir, exist_ok=True)
    curves = [regression_curve(p) for p in stage_pairs]
    plot_iou_distribution(stage_pairs, osp.join(args.out_dir, "roi_iou_distribution.png"))
    plot_regression_curves(curves, osp.join(args.out_dir, "regression_iou_curve.png"))
    summary = {
        "images": len(img_ids),
        "stages": [{"name": r.name, "AP": r.ap, "per_iou": dict((str(t), ap) for t, ap in r.per_iou)} for r in rows],
        "rois": [
            {
                "stage": s + 1,
                "count": int(len(p)),
                "iou>=0.5": int((p[:, 0] >= 0.5).sum()),
                "iou>=0.6": int((p[:, 0] >= 0.6).sum()),
                "iou>=0.7": int((p[:, 0] >= 0.7).sum()),
                "mean_input_iou": float(p[:, 0].mean()) if len(p) else None,
                "curve": {
                    "input_iou": c.bin_centres.round(3).tolist(),
                    "mean_output_iou": [None if np.isnan(v) else float(v) for v in c.mean_out],
                    "count": c.counts.tolist(),
                },
            }
            for s, (p, c) in enumerate(zip(stage_pairs, curves))
        ],
    }
    with open(osp.join(args.out_dir, "cascade_analysis.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"plots and numbers saved in {args.out_dir}")
    return summary


if __name__ == "__main__":
    main()
