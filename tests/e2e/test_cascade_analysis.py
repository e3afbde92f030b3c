"""cascade_analysis.py on the embedded data, checked against independent computations."""

import json

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from PIL import Image

from mmcascade.analysis.cascade_stages import detections, iou_pairs, stage_outputs, variants
from mmcascade.analysis.stage_report import regression_curve
from mmcascade.apis import init_detector
from mmcascade.registry import DATASETS

from helpers.e2e import random_checkpoint, run_tool, tiny_embedded_cfg


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cascade_analysis")
    cfg_path = tiny_embedded_cfg(tmp, spec=dict(num_train=4, num_val=6, seed=5))
    cfg = Config.fromfile(cfg_path)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    ckpt = random_checkpoint(cfg, tmp / "model.pth", seed=1)
    return cfg_path, ckpt, dataset, tmp


def test_ensemble_row_is_the_models_own_output(setup):
    cfg_path, ckpt, dataset, _ = setup
    model = init_detector(cfg_path, ckpt)
    data = pseudo_collate([dataset[0], dataset[1]])
    outputs, _ = stage_outputs(model, data)
    predicted = model.test_step(data)
    for out, pred in zip(outputs, predicted):
        rows = variants(out)
        assert list(rows) == [
            "stage 1",
            "stage 2",
            "stage 3",
            "ensemble 1~3",
            "stage 1 + ensemble score",
            "stage 2 + ensemble score",
        ]
        boxes, scores, labels = detections(*rows["ensemble 1~3"], model.roi_head.test_cfg)
        torch.testing.assert_close(boxes, pred.pred_instances.bboxes, atol=1e-4, rtol=0)
        torch.testing.assert_close(scores, pred.pred_instances.scores, atol=1e-6, rtol=0)
        assert torch.equal(labels, pred.pred_instances.labels)
        # the probabilities are distributions and every stage saw the same number of RoIs
        for p in out.probs:
            torch.testing.assert_close(p.sum(1), torch.ones(len(p)))
        assert len({len(r) for r in out.rois}) == 1


def test_iou_pairs_match_a_hand_computation():
    def iou(a, b):
        w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = w * h
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)

    from mmcascade.analysis.cascade_stages import StageOutputs

    gt = torch.tensor([[0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 40.0, 30.0]])
    rois = torch.tensor([[0.0, 0.0, 10.0, 5.0], [22.0, 20.0, 40.0, 30.0], [50.0, 50.0, 60.0, 60.0]])
    regressed = torch.tensor([[0.0, 0.0, 10.0, 9.0], [20.0, 20.0, 40.0, 30.0], [50.0, 50.0, 60.0, 60.0]])
    out = StageOutputs(0, [rois], [torch.zeros(3, 3)], [regressed], torch.zeros(3, 3))
    pairs = iou_pairs(out, gt, torch.tensor([0, 1]))[0]
    expected = [[iou(rois[0], gt[0]), iou(regressed[0], gt[0])], [iou(rois[1], gt[1]), 1.0], [0.0, 0.0]]
    np.testing.assert_allclose(pairs, np.array(expected, dtype=np.float32), atol=1e-6)
    assert pairs[0].tolist() == pytest.approx([0.5, 0.9])
    curve = regression_curve(np.array([[0.52, 0.6]] * 5 + [[0.93, 0.95]] * 2, np.float32))
    assert curve.counts[0] == 5 and curve.mean_out[0] == pytest.approx(0.6)
    assert curve.counts[-2] == 2 and np.isnan(curve.mean_out[-2])  # too few to average


def test_tool_on_embedded_data(setup):
    cfg_path, ckpt, dataset, tmp = setup
    out_dir = tmp / "out"
    proc = run_tool("tools/analysis_tools/cascade_analysis.py", cfg_path, ckpt, "--out-dir", str(out_dir))
    assert "box AP (%) per cascade stage" in proc.stdout and "ensemble 1~3" in proc.stdout
    summary = json.loads((out_dir / "cascade_analysis.json").read_text())
    assert summary["images"] == len(dataset) == 6
    assert [s["name"] for s in summary["stages"]][:4] == ["stage 1", "stage 2", "stage 3", "ensemble 1~3"]
    for stage in summary["stages"]:
        aps = list(stage["per_iou"].values())
        assert len(aps) == 10 and stage["AP"] == pytest.approx(np.mean(aps), abs=1e-6)
    first = summary["rois"][0]
    # stage 1 sees the RPN's proposals: at most 1000 per image at test time
    assert 0 < first["count"] <= 1000 * 6 and first["iou>=0.5"] >= first["iou>=0.6"] >= first["iou>=0.7"]
    assert sum(first["curve"]["count"]) == first["iou>=0.5"]
    for name, size in (("roi_iou_distribution.png", (1260, 340)), ("regression_iou_curve.png", (500, 440))):
        img = Image.open(out_dir / name)
        assert img.size == size and len(set(img.convert("L").getdata())) > 20
