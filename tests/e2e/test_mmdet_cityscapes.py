"""MMDetection 3.3.0's Cityscapes config (Mask R-CNN), read from its wheel with only the registry
scope and the data root changed, on a small tree in the benchmark's layout: the training set
drops the image holding only a crowd region, and both of its evaluators, COCO AP and the
benchmark's own instance AP (``CityScapesMetric`` through cityscapesscripts), give 1 when every
prediction is the ground truth; the result folder of a second metric does not replace the first's."""

import os
import os.path as osp

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from mmengine.structures import InstanceData

from mmcascade.config.loading import check_run_config, load_tool_config
from mmcascade.registry import METRICS

from helpers.cityscapes_layout import write_cityscapes

pytestmark = pytest.mark.e2e


def test_mmdetections_cityscapes_config_reads_and_evaluates(mmdet_configs, tmp_path):
    root = write_cityscapes(str(tmp_path / "cityscapes"))
    out = str(tmp_path / "cs_results")
    options = {
        "default_scope": "mmcascade",
        "train_dataloader.dataset.dataset.data_root": root,
        "val_dataloader.dataset.data_root": root,
        "val_evaluator.0.ann_file": f"{root}annotations/instancesonly_filtered_gtFine_val.json",
        "val_evaluator.1.seg_prefix": f"{root}gtFine/val",
        "val_evaluator.1.outfile_prefix": out,
    }
    cfg = load_tool_config(osp.join(mmdet_configs, "cityscapes", "mask-rcnn_r50_fpn_1x_cityscapes.py"), options)
    check_run_config(cfg)
    train = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    assert len(train.dataset) == 8 * 2  # RepeatDataset(times=8) of the two images with objects
    assert train.dataset.metainfo["classes"][2] == "car"
    val = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    evaluator = Evaluator(cfg.val_evaluator)
    evaluator.dataset_meta = val.dataset.metainfo
    for batch in val:
        for sample in batch["data_samples"]:
            gt = sample.gt_instances
            masks = torch.from_numpy(gt.masks.to_ndarray()).bool()
            sample.pred_instances = InstanceData(
                bboxes=gt.bboxes, labels=gt.labels, scores=torch.ones(len(gt)), masks=masks
            )
        evaluator.process(batch["data_samples"])
    scores = evaluator.evaluate(len(val.dataset))
    assert scores["coco/bbox_mAP"] == 1.0 and scores["coco/segm_mAP"] == 1.0
    assert scores["cityscapes/mAP"] == pytest.approx(1.0) and scores["cityscapes/AP@50"] == pytest.approx(1.0)
    results = osp.join(out, "results")
    assert sorted(f for f in os.listdir(results) if f.endswith("_pred.txt")) == [
        "ulm_000000_000019_leftImg8bit_pred.txt",
        "ulm_000001_000019_leftImg8bit_pred.txt",
    ]
    again = METRICS.build(dict(type="CityScapesMetric", outfile_prefix=out, seg_prefix=f"{root}gtFine/val"))
    assert again.out_dir == results + ".1" and os.listdir(results)  # the first run's files stay
