"""analyze_logs.py on both log formats: parsing, train time by hand, plots."""

import json

import pytest
from PIL import Image

from mmcascade.analysis.train_logs import LogFormatError, load_train_log, train_time

from helpers.e2e import run_tool


def _write(path, records):
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    return str(path)


@pytest.fixture
def v2_log(tmp_path):
    """An MMDetection v2 log.json: env line, 2 epochs of 3 iterations (logged at 1, 2, 3), val lines."""
    records = [{"env_info": "sys.platform: linux", "seed": 0, "config": "model = dict()"}]
    for epoch in (1, 2):
        for it, t in zip((1, 2, 3), (0.9, 0.3, 0.5)):
            records.append(
                {
                    "mode": "train",
                    "epoch": epoch,
                    "iter": it,
                    "lr": 0.02,
                    "memory": 4200,
                    "time": t * epoch,
                    "loss": 2.0 / (epoch * it),
                    "s0.loss_cls": 0.5,
                }
            )
        records.append(
            {
                "mode": "val",
                "epoch": epoch,
                "iter": 3,
                "lr": 0.02,
                "bbox_mAP": 0.3 + epoch / 10,
                "bbox_mAP_copypaste": "0.4 0.6 0.4 0.2 0.4 0.5",
            }
        )
    return _write(tmp_path / "run.log.json", records)


@pytest.fixture
def ours_log(tmp_path):
    records = [
        {"lr": 0.01, "loss": 3.0, "time": 0.4, "epoch": 1, "iter": 5, "step": 5},
        {"lr": 0.01, "loss": 2.0, "time": 0.6, "epoch": 1, "iter": 10, "step": 10},
        {"coco/bbox_mAP": 0.25, "coco/segm_mAP": 0.2, "data_time": 0.1, "time": 0.2, "step": 1},
    ]
    (tmp_path / "w" / "20260101_000000" / "vis_data").mkdir(parents=True)
    return _write(tmp_path / "w" / "20260101_000000" / "vis_data" / "scalars.json", records)


def test_mmdet_v2_log(v2_log):
    log = load_train_log(v2_log)
    assert [r.iteration for r in log.train] == [1, 2, 3, 4, 5, 6]
    assert log.train[4].values["loss"] == pytest.approx(1.0 / 2) and "mode" not in log.train[0].values
    assert [(r.epoch, r.metrics["bbox_mAP"]) for r in log.val] == [(1, pytest.approx(0.4)), (2, pytest.approx(0.5))]
    assert "bbox_mAP_copypaste" not in log.val[0].metrics
    # epoch means without the first logged iteration: (0.3 + 0.5) / 2 = 0.4 and 0.8
    t = train_time(log)
    assert t.slowest_epoch == (2, pytest.approx(0.8)) and t.fastest_epoch == (1, pytest.approx(0.4))
    assert t.mean_iter_s == pytest.approx(0.6) and t.epoch_std_s == pytest.approx(0.2)
    assert train_time(log, include_outliers=True).fastest_epoch[1] == pytest.approx((0.9 + 0.3 + 0.5) / 3)


def test_mmengine_scalars(ours_log):
    log = load_train_log(ours_log)
    assert [(r.epoch, r.iteration, r.values["loss"]) for r in log.train] == [(1, 5, 3.0), (1, 10, 2.0)]
    assert log.val[0].epoch == 1 and log.val[0].metrics == {"bbox_mAP": 0.25, "segm_mAP": 0.2}


def test_bad_lines_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"mode": "train"}\nnot json\n')
    with pytest.raises(LogFormatError, match=r"bad.json:2"):
        load_train_log(bad)


@pytest.mark.e2e  # runs the tool in a subprocess
def test_plot_and_train_time_tool(v2_log, ours_log, tmp_path):
    out = tmp_path / "curves.png"
    proc = run_tool(
        "tools/analysis_tools/analyze_logs.py",
        "plot_curve",
        v2_log,
        ours_log,
        "--keys",
        "loss",
        "bbox_mAP",
        "--legend",
        "published",
        "ours",
        "--out",
        str(out),
    )
    assert "saved" in proc.stdout
    img = Image.open(out)
    assert img.size == (800, 640) and len(set(img.convert("L").getdata())) > 10
    proc = run_tool("tools/analysis_tools/analyze_logs.py", "cal_train_time", v2_log)
    assert "slowest epoch 2, average time is 0.8000 s/iter" in proc.stdout
    assert "average iter time: 0.6000 s/iter" in proc.stdout
