"""CocoMetric against pycocotools run directly on the same detections."""

import contextlib
import io
import json

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmcascade.evaluation import CocoMetric, evaluate_results_file
from mmcascade.structures import DetDataSample

from helpers.coco_fixtures import write_fixture

KEYS = ["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"]


def _gt(tmp_path):
    anns, aid = [], 1
    rng = np.random.default_rng(0)
    for img in (1, 2):
        for _ in range(4):
            x, y = rng.uniform(0, 40, 2)
            w, h = rng.uniform(8, 30, 2)
            anns.append(
                dict(
                    id=aid,
                    image_id=img,
                    category_id=[1, 3][aid % 2],
                    bbox=[x, y, w, h],
                    area=w * h,
                    iscrowd=0,
                    segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]],
                )
            )
            aid += 1
    images = [dict(id=1, file_name="a.png", height=80, width=80), dict(id=2, file_name="b.png", height=80, width=80)]
    return write_fixture(str(tmp_path), annotations=anns, images=images), anns


def _samples(anns, shift=0.0, drop_all=False):
    samples = []
    for img in (1, 2):
        own = [a for a in anns if a["image_id"] == img]
        boxes = torch.tensor(
            [
                [a["bbox"][0] + shift, a["bbox"][1], a["bbox"][0] + a["bbox"][2] + shift, a["bbox"][1] + a["bbox"][3]]
                for a in own
            ]
        )
        labels = torch.tensor([0 if a["category_id"] == 1 else 1 for a in own])
        scores = torch.linspace(0.9, 0.5, len(own))
        masks = torch.zeros((len(own), 80, 80), dtype=torch.bool)
        for i, b in enumerate(boxes.round().int().tolist()):
            masks[i, max(b[1], 0) : b[3], max(b[0], 0) : b[2]] = True
        keep = slice(0, 0) if drop_all else slice(None)
        s = DetDataSample(metainfo=dict(img_id=img))
        s.pred_instances = InstanceData(bboxes=boxes[keep], labels=labels[keep], scores=scores[keep], masks=masks[keep])
        samples.append(s)
    return samples


def _ours(ann_file, samples, metric="bbox", **kw):
    m = CocoMetric(ann_file=ann_file, metric=metric, **kw)
    m.dataset_meta = dict(classes=("cat", "dog"))
    m.process({}, samples)
    return m.compute_metrics(m.results), m


def _cocoeval(ann_file, dets, iou_type="bbox", **params) -> COCOeval:
    """pycocotools run directly (images 1 and 2; ``params`` set on ``ev.params``)."""
    coco = COCO(ann_file)
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(dets), iou_type)
        ev.params.imgIds = [1, 2]
        for key, value in params.items():
            setattr(ev.params, key, value)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def _theirs(ann_file, dets, iou_type="bbox"):
    return _cocoeval(ann_file, dets, iou_type).stats


@pytest.mark.parametrize("shift", [0.0, 3.0])
def test_bbox_and_segm_equal_pycocotools(tmp_path, shift):
    ann_file, anns = _gt(tmp_path)
    ours, _ = _ours(ann_file, _samples(anns, shift), metric=["bbox", "segm"], outfile_prefix=str(tmp_path / "res"))
    for iou_type in ("bbox", "segm"):
        with open(tmp_path / f"res.{iou_type}.json") as f:
            dets = json.load(f)
        stats = _theirs(ann_file, dets, iou_type)
        for i, k in enumerate(KEYS):
            assert ours[f"{iou_type}_{k}"] == round(float(stats[i]), 3)
    if shift == 0.0:
        assert ours["bbox_mAP"] == 1.0
    else:
        assert ours["bbox_mAP"] < 1.0 and ours["bbox_mAP_50"] > ours["bbox_mAP_75"]


def test_empty_detections_give_zero(tmp_path):
    ann_file, anns = _gt(tmp_path)
    ours, _ = _ours(ann_file, _samples(anns, drop_all=True))
    assert all(ours[f"bbox_{k}"] == 0.0 for k in KEYS)


def test_classwise_table_and_format_only(tmp_path):
    ann_file, anns = _gt(tmp_path)
    ours, _ = _ours(ann_file, _samples(anns, 3.0), classwise=True)
    assert set(ours) >= {"cat_precision", "dog_precision"}
    out, _ = _ours(ann_file, _samples(anns), format_only=True, outfile_prefix=str(tmp_path / "sub"))
    assert out == {}
    with open(tmp_path / "sub.bbox.json") as f:
        dets = json.load(f)
    assert len(dets) == 8 and {d["category_id"] for d in dets} == {1, 3}


def test_results_file_without_model(tmp_path):
    ann_file, anns = _gt(tmp_path)
    _ours(ann_file, _samples(anns, 3.0), outfile_prefix=str(tmp_path / "r"))
    via_file = evaluate_results_file(ann_file, str(tmp_path / "r.bbox.json"))
    with open(tmp_path / "r.bbox.json") as f:
        stats = _theirs(ann_file, json.load(f))
    assert via_file["coco/bbox_mAP"] == round(float(stats[0]), 3)


def test_proposal_recall(tmp_path):
    ann_file, anns = _gt(tmp_path)
    ours, _ = _ours(ann_file, _samples(anns), metric="proposal", proposal_nums=(1, 10, 100))
    assert ours["AR@100"] == 1.0 and ours["AR@1"] < 1.0


@pytest.mark.e2e  # runs the tool in a subprocess
def test_per_iou_breakdown_and_eval_metric_tool(tmp_path):
    import subprocess
    import sys

    from helpers import REPO

    ann_file, anns = _gt(tmp_path)
    _ours(ann_file, _samples(anns, 1.0), outfile_prefix=str(tmp_path / "r"))
    with open(tmp_path / "r.bbox.json") as f:
        dets = json.load(f)
    coco = COCO(ann_file)
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes(dets), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    from mmcascade.evaluation import per_iou_ap

    breakdown = per_iou_ap(ev.eval["precision"], ev.params.iouThrs)
    assert [t for t, _ in breakdown] == [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95]
    aps = [ap for _, ap in breakdown]
    assert aps[0] > aps[-1]
    assert sum(aps) / 10 == pytest.approx(ev.stats[0], abs=1e-12)  # AP is the mean over the thresholds
    tool = "tools/analysis_tools/eval_metric.py"
    out = subprocess.run(
        [sys.executable, tool, ann_file, str(tmp_path / "r.bbox.json"), "--names", "shifted"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    row = next(line for line in out.splitlines() if "shifted" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert len(cells) == 17 and float(cells[1]) == round(100 * ev.stats[0], 1)


def test_iou_thrs_and_metric_items_are_implemented(tmp_path):
    ann_file, anns = _gt(tmp_path)
    ours, _ = _ours(
        ann_file,
        _samples(anns, 3.0),
        iou_thrs=[0.5, 0.75],
        metric_items=["mAP", "mAP_75"],
        outfile_prefix=str(tmp_path / "r"),
    )
    assert set(ours) == {"bbox_mAP", "bbox_mAP_75"}
    with open(tmp_path / "r.bbox.json") as f:
        dets = json.load(f)
    ev = _cocoeval(ann_file, dets, iouThrs=np.array([0.5, 0.75]))
    assert ours["bbox_mAP"] == round(float(ev.stats[0]), 3) and ours["bbox_mAP_75"] == round(float(ev.stats[2]), 3)
    default, _ = _ours(ann_file, _samples(anns, 3.0))
    assert default["bbox_mAP"] != ours["bbox_mAP"]  # two thresholds, not ten


def test_unknown_options_and_items_are_refused(tmp_path):
    ann_file, _ = _gt(tmp_path)
    with pytest.raises(TypeError, match="iou_thr"):
        CocoMetric(ann_file=ann_file, iou_thr=0.5)
    with pytest.raises(KeyError, match="mAP_xl"):
        CocoMetric(ann_file=ann_file, metric_items=["mAP_xl"])
    with pytest.raises(ValueError, match="use_mp_eval"):
        CocoMetric(ann_file=ann_file, use_mp_eval=True)
    with pytest.raises(ValueError, match="iou_thrs"):
        CocoMetric(ann_file=ann_file, iou_thrs=[1.5])


def test_classwise_table_has_six_numbers_per_class(tmp_path, capsys):
    from mmcascade.evaluation.coco_eval import per_class_ap

    ann_file, anns = _gt(tmp_path)
    ours, _ = _ours(ann_file, _samples(anns, 2.0), classwise=True, outfile_prefix=str(tmp_path / "r"))
    with open(tmp_path / "r.bbox.json") as f:
        dets = json.load(f)
    ev = _cocoeval(ann_file, dets, catIds=[1, 3])
    rows = dict(per_class_ap(ev.eval["precision"], ["cat", "dog"]))
    # pycocotools per category: restrict the evaluation to one category and read its stats
    for name, cat in (("cat", 1), ("dog", 3)):
        one = _cocoeval(ann_file, dets, catIds=[cat])
        for i, key in enumerate(["mAP", "mAP_50", "mAP_75", "mAP_s", "mAP_m", "mAP_l"]):
            want = float(one.stats[i])
            got = rows[name][key]
            assert (got == pytest.approx(want, abs=1e-9)) or (want == -1 and np.isnan(got))
        assert ours[f"{name}_precision"] == round(rows[name]["mAP"], 3)


def test_sort_categories_orders_an_unsorted_file(tmp_path):
    ann_file, anns = _gt(tmp_path)
    with open(ann_file) as f:
        data = json.load(f)
    data["categories"] = data["categories"][::-1]  # dog (3) before cat (1)
    with open(ann_file, "w") as f:
        json.dump(data, f)
    plain = CocoMetric(ann_file=ann_file)
    ordered = CocoMetric(ann_file=ann_file, sort_categories=True)
    assert plain._cat_ids(None) == [3, 1] and ordered._cat_ids(None) == [1, 3]
    assert plain._cat_ids(("cat", "dog")) == ordered._cat_ids(("cat", "dog")) == [1, 3]  # names always win


def test_results_of_unknown_categories_or_images_are_refused(tmp_path):
    """Detections the annotation file cannot score are named, not dropped (AP would be wrong)."""
    ann_file, anns = _gt(tmp_path)
    _ours(ann_file, _samples(anns), metric=["bbox", "segm"], outfile_prefix=str(tmp_path / "r"))
    dets = json.load(open(tmp_path / "r.bbox.json"))
    dets[0]["category_id"] = 7
    json.dump(dets, open(tmp_path / "cat.json", "w"))
    with pytest.raises(ValueError, match=r"category ids \[7\] \(1 detections\) that the annotation file does not have"):
        evaluate_results_file(ann_file, str(tmp_path / "cat.json"))
    dets[0].update(category_id=1, image_id=99)
    json.dump(dets, open(tmp_path / "img.json", "w"))
    with pytest.raises(ValueError, match=r"image ids \[99\]"):
        evaluate_results_file(ann_file, str(tmp_path / "img.json"))
    with pytest.raises(ValueError, match="segm evaluation needs masks, but 8 of 8 detections have no 'segmentation'"):
        evaluate_results_file(ann_file, str(tmp_path / "r.bbox.json"), metric="segm")
    assert evaluate_results_file(ann_file, str(tmp_path / "r.segm.json"), metric="segm")["coco/segm_mAP"] > 0.5


def test_no_temporary_files_and_a_partial_set_is_labelled(tmp_path, monkeypatch):
    import tempfile

    import mmcascade.evaluation.coco_metric as coco_metric

    logged = []
    monkeypatch.setattr(coco_metric, "print_log", lambda msg, **kw: logged.append(msg))

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    ann_file, anns = _gt(tmp_path)
    _ours(ann_file, _samples(anns)[:1])
    assert list(scratch.iterdir()) == []  # nothing left behind without outfile_prefix
    assert any("evaluating 1 of the 2 images" in m for m in logged)


def test_an_annotation_file_without_area_is_refused_when_the_metric_is_built(tmp_path):
    ann_file, anns = _gt(tmp_path)
    data = json.load(open(ann_file))
    del data["annotations"][2]["area"]
    json.dump(data, open(ann_file, "w"))
    with pytest.raises(ValueError, match=r"1 annotation\(s\) have no numeric 'area' \(annotation id 3, image_id 1"):
        CocoMetric(ann_file=ann_file, metric="bbox")
