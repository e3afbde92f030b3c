"""MMDetection 3.3.0's LVIS configs (v1 and v0.5, Mask R-CNN with repeat-factor sampling), read
from its wheel with only the registry scope and the data root changed, on a small LVIS tree in
its own layout: the images are found (v1 through ``coco_url``, v0.5 through COCO 2014 names),
the rare-class image is repeated by ``ClassBalancedDataset``, the model trains a step, and
``LVISMetric`` gives AP 1 (APr, APc, APf included) when every prediction is the ground truth."""

import os.path as osp

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner

from mmcascade.config.loading import check_run_config, load_tool_config
from mmcascade.registry import MODELS

from helpers.lvis_layout import write_lvis
from helpers.voc_layout import ground_truth_scores

pytestmark = pytest.mark.e2e

CONFIGS = {
    "v1": "lvis/mask-rcnn_r50_fpn_sample1e-3_ms-1x_lvis-v1.py",
    "v0.5": "lvis/mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v0.5.py",
}


@pytest.mark.parametrize("version", sorted(CONFIGS))
def test_mmdetections_lvis_config_reads_trains_and_evaluates(mmdet_configs, tmp_path, version):
    root = write_lvis(str(tmp_path / "lvis"), version)
    tag = "v1" if version == "v1" else "v0.5"
    options = {
        "default_scope": "mmcascade",
        "model.backbone.init_cfg": None,
        "train_dataloader.dataset.dataset.data_root": root,
        "train_dataloader.dataset.oversample_thr": 0.3,  # the rare class is in 1 of 6 images here
        "train_dataloader.batch_size": 1,
        "val_dataloader.dataset.data_root": root,
        "val_evaluator.ann_file": f"{root}annotations/lvis_{tag}_val.json",
        "val_evaluator.metric": "bbox",
    }
    cfg = load_tool_config(osp.join(mmdet_configs, CONFIGS[version]), options)
    check_run_config(cfg)
    train = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    assert train.dataset.metainfo["classes"] == ("apple", "banana", "cherry", "durian")
    # cherry (rare) is in one image of six: frequency 1/6, repeat factor sqrt(0.3 * 6) > 1
    assert len(train.dataset) == 7
    if version == "v1":  # the same model in both: one training step is enough
        _train_step(cfg, train)
    val = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    scores = ground_truth_scores(Evaluator(cfg.val_evaluator), val)
    assert scores["lvis/bbox_AP"] == 1.0 and scores["lvis/bbox_APf"] == 1.0
    assert scores["lvis/bbox_APc"] == 1.0 and scores["lvis/bbox_APr"] == 1.0


def _train_step(cfg, train) -> None:
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    model.init_weights()
    data = model.data_preprocessor(next(iter(train)), True)
    losses = model.loss(data["inputs"], data["data_samples"])
    assert torch.isfinite(losses["loss_cls"]) and torch.isfinite(losses["loss_mask"])
