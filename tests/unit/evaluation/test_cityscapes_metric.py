"""``CityScapesMetric``'s refusals before any work and its ground-truth paths (the evaluation
itself runs on a Cityscapes tree in tests/e2e/test_mmdet_cityscapes.py)."""

import pytest
import torch
from mmengine.structures import InstanceData

from mmcascade.evaluation.cityscapes_metric import gt_instance_path
from mmcascade.registry import METRICS
from mmcascade.structures import DetDataSample


def test_ground_truth_of_an_image():
    assert (
        gt_instance_path("data/cityscapes/leftImg8bit/val/ulm/ulm_000000_000019_leftImg8bit.png")
        == "data/cityscapes/gtFine/val/ulm/ulm_000000_000019_gtFine_instanceIds.png"
    )


def test_refusals(tmp_path):
    with pytest.raises(ValueError, match="seg_prefix"):
        METRICS.build(dict(type="CityScapesMetric", outfile_prefix=str(tmp_path)))
    with pytest.raises(ValueError, match="format_only needs outfile_prefix"):
        METRICS.build(dict(type="CityScapesMetric", format_only=True))
    metric = METRICS.build(dict(type="CityScapesMetric", outfile_prefix=str(tmp_path), seg_prefix="gtFine/val"))
    metric.dataset_meta = dict(classes=("person", "rider", "car"))
    sample = DetDataSample(metainfo=dict(img_path="leftImg8bit/val/ulm/a_leftImg8bit.png"))
    sample.pred_instances = InstanceData(bboxes=torch.zeros(1, 4), scores=torch.ones(1), labels=torch.zeros(1).long())
    with pytest.raises(ValueError, match="box-only model"):
        metric.process({}, [sample])
    (tmp_path / "results" / "mine.txt").write_text("a user's file")
    again = METRICS.build(dict(type="CityScapesMetric", outfile_prefix=str(tmp_path), seg_prefix="gtFine/val"))
    assert again.out_dir.endswith("results.1") and (tmp_path / "results" / "mine.txt").exists()
