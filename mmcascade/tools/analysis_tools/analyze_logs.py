"""Plot training curves and report training time, from our logs (``vis_data/scalars.json``)
and from MMDetection v2 ``*.log.json`` files (the model zoo's published logs).

    python tools/analysis_tools/analyze_logs.py plot_curve A.json B.log.json --keys loss bbox_mAP \\
        --legend ours published --out curves.png
    python tools/analysis_tools/analyze_logs.py cal_train_time A.json [--include-outliers]
"""

import argparse
import os.path as osp
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from mmcascade.analysis.train_logs import LogFormatError, TrainLog, load_train_log, train_time


def plot_curves(logs: list[TrainLog], keys: list[str], legend: list[str], out: str, title: str = "") -> None:
    """One panel per key; training keys against iteration, validation metrics against epoch."""
    fig, axes = plt.subplots(len(keys), 1, figsize=(8, 3.2 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        plotted = False
        for log, name in zip(logs, legend):
            train = [(r.iteration, r.values[key]) for r in log.train if key in r.values]
            val = [(r.epoch, r.metrics[key]) for r in log.val if key in r.metrics]
            points, xlabel = (train, "iteration") if train else (val, "epoch")
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o" if xlabel == "epoch" else None, label=name)
                ax.set_xlabel(xlabel)
                plotted = True
        if not plotted:
            raise LogFormatError(
                f"key {key!r} is in none of the logs; available: {sorted(set().union(*(log.keys() for log in logs)))}"
            )
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def _default_legend(paths: list[str]) -> list[str]:
    """File names, or the run folder (``work_dir/TIMESTAMP/vis_data/scalars.json``) when they repeat."""
    names = [osp.basename(p) for p in paths]
    if len(set(names)) == len(names):
        return names
    return [osp.relpath(p, osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(p)))))) for p in paths]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="task", required=True)
    plot = sub.add_parser("plot_curve")
    plot.add_argument("json_logs", nargs="+")
    plot.add_argument("--keys", nargs="+", default=["loss"])
    plot.add_argument("--legend", nargs="+", help="one name per log (default: file names)")
    plot.add_argument("--title", default="")
    plot.add_argument("--out", required=True, help="output image (.png, .pdf, .svg)")
    timing = sub.add_parser("cal_train_time")
    timing.add_argument("json_logs", nargs="+")
    timing.add_argument(
        "--include-outliers", action="store_true", help="keep the first logged iteration time of each epoch"
    )
    args = parser.parse_args(argv)
    try:
        logs = [load_train_log(p) for p in args.json_logs]
        if args.task == "plot_curve":
            legend = args.legend or _default_legend(args.json_logs)
            if len(legend) != len(logs):
                parser.error(f"{len(legend)} legend names for {len(logs)} logs")
            plot_curves(logs, args.keys, legend, args.out, args.title)
            print(f"saved {args.out}")
        else:
            for log in logs:
                t = train_time(log, args.include_outliers)
                print(f"{'-' * 5}Analyze train time of {log.path}{'-' * 5}")
                print(f"slowest epoch {t.slowest_epoch[0]}, average time is {t.slowest_epoch[1]:.4f} s/iter")
                print(f"fastest epoch {t.fastest_epoch[0]}, average time is {t.fastest_epoch[1]:.4f} s/iter")
                print(f"time std over epochs is {t.epoch_std_s:.4f}")
                print(f"average iter time: {t.mean_iter_s:.4f} s/iter")
    except (LogFormatError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
