"""Evaluate saved COCO results files (no model needed) and show AP at every IoU threshold.

    python tools/analysis_tools/eval_metric.py ANN_FILE A.bbox.json [B.pkl ...] \
        [--names cascade baseline] [--metric bbox|segm]

Each results file is a COCO results json or a ``tools/test.py --out`` ``.pkl``.

One row per results file: AP, AP50, AP75, AP_s/m/l, then AP at IoU 0.50, 0.55, ... 0.95 (the
breakdown where Cascade R-CNN's gain at high IoU shows), as a terminaltables table.
"""

import argparse
import os.path as osp

from terminaltables import AsciiTable

from mmcascade.evaluation.coco_eval import load_coco, run_cocoeval
from mmcascade.evaluation.results_io import load_detections


def evaluate(ann_file: str, result_files: list[str], names: list[str], metric: str) -> list[list[str]]:
    """Rows of the table: name, the six summary APs and AP at each IoU threshold (percent)."""
    coco = load_coco(ann_file)
    cats, imgs = sorted(coco.getCatIds()), sorted(coco.getImgIds())
    rows = []
    for name, path in zip(names, result_files, strict=True):
        res = run_cocoeval(coco, load_detections(path, coco, metric), metric, cats, imgs)
        rows.append([name] + [f"{100 * v:.1f}" for v in res.stats[:6]] + [f"{100 * ap:.1f}" for _, ap in res.per_iou])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ann_file")
    parser.add_argument("result_files", nargs="+", help="COCO results json or tools/test.py --out .pkl")
    parser.add_argument("--names", nargs="+", help="a label per results file (default: file names)")
    parser.add_argument("--metric", choices=["bbox", "segm"], default="bbox")
    args = parser.parse_args()
    names = args.names or [osp.basename(p) for p in args.result_files]
    if len(names) != len(args.result_files):
        parser.error("give one name per results file")
    rows = evaluate(args.ann_file, args.result_files, names, args.metric)
    header = ["model", "AP", "AP50", "AP75", "AP_s", "AP_m", "AP_l"] + [f"@{t / 100:.2f}" for t in range(50, 100, 5)]
    print(f"{args.metric} AP (%) on {args.ann_file}")
    print(AsciiTable([header] + rows).table)


if __name__ == "__main__":
    main()
