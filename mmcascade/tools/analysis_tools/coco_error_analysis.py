"""Why AP is what it is: a TIDE-style error breakdown and Detectron's PR-curve analysis of a results file.

    python tools/analysis_tools/coco_error_analysis.py RESULTS ANN_FILE --out DIR [--fg-iou 0.5] [--bg-iou 0.1]
    mmcascade analyze coco_error_analysis RESULTS ANN_FILE --out DIR

RESULTS is a COCO results json (``preds.bbox.json``) or the ``.pkl`` of ``mmcascade test --out``;
boxes are analysed. Prints the AP50 and, per error type (classification, localisation, both,
duplicate, background, missed), how many there are and the AP50 fixing them would add, overall
and per class; writes ``DIR/error_breakdown.png`` (those bars), ``DIR/error_breakdown.json``,
``DIR/pr_all.png`` and ``DIR/pr_<class>.png`` (Detectron's curves: C75, C50, Loc, Sim, Oth, BG, FN).
"""

import argparse
import dataclasses
import json
import os
import os.path as osp
import re

from terminaltables import AsciiTable

from mmcascade.analysis.coco_errors import ERRORS, error_breakdown, plot_breakdown, plot_pr_curves, pr_curves
from mmcascade.evaluation.coco_eval import load_coco
from mmcascade.evaluation.results_io import load_detections


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", help="COCO results json or the .pkl of mmcascade test --out")
    parser.add_argument("ann_file", help="the COCO annotation file the results are of")
    parser.add_argument("--out", required=True, help="folder for the pictures and the json")
    parser.add_argument("--fg-iou", type=float, default=0.5, help="IoU of a correct detection (0.5)")
    parser.add_argument("--bg-iou", type=float, default=0.1, help="IoU below which a detection is background (0.1)")
    args = parser.parse_args(argv)
    if not 0 < args.bg_iou < args.fg_iou <= 1:
        parser.error("need 0 < --bg-iou < --fg-iou <= 1")
    coco = load_coco(args.ann_file)
    try:
        results = load_detections(args.results, coco, "bbox")
    except (ValueError, KeyError) as exc:
        parser.exit(2, f"coco_error_analysis: {args.results}: {exc}\n")
    os.makedirs(args.out, exist_ok=True)
    breakdown = error_breakdown(coco, results, args.fg_iou, args.bg_iou)
    print(_tables(breakdown))
    plot_breakdown(breakdown, osp.join(args.out, "error_breakdown.png"))
    with open(osp.join(args.out, "error_breakdown.json"), "w") as f:
        json.dump(dataclasses.asdict(breakdown), f, indent=1)
    curves = pr_curves(coco, results)
    plot_pr_curves(curves, -1, "all classes", osp.join(args.out, "pr_all.png"))
    for k, cat in enumerate(coco.loadCats(sorted(coco.getCatIds()))):
        if breakdown.per_class.get(cat["name"]) is not None:
            name = re.sub(r"[^\w.-]+", "_", cat["name"])
            plot_pr_curves(curves, k, cat["name"], osp.join(args.out, f"pr_{name}.png"))
    print(f"wrote {args.out}/error_breakdown.png, error_breakdown.json, pr_all.png and one pr_<class>.png per class")
    return dataclasses.asdict(breakdown)


def _tables(breakdown) -> str:
    head = ["", "AP50"] + [f"d{k}" for k in ERRORS]
    overall = ["all", f"{breakdown.ap50:.1f}"] + [f"{breakdown.dap[k]:.2f}" for k in ERRORS]
    counts = ["count", ""] + [str(breakdown.counts[k]) for k in ERRORS]
    rows = [head, overall, counts]
    for name, row in breakdown.per_class.items():
        rows.append([name, f"{row['ap50']:.1f}"] + [f"{row.get(k, 0.0):.2f}" for k in ERRORS])
    return "AP50 gained by fixing each kind of error (TIDE-style):\n" + AsciiTable(rows).table


if __name__ == "__main__":
    main()
