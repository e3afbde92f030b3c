"""The proposal workflow with MMDetection 3.3.0's own configs (from its wheel; only the registry
scope, the data paths, the pretrained download, the epochs and, to keep the test short, the
resize scale changed), run by the tools as a
user runs them: ``rpn/rpn_r50_fpn_1x_coco.py`` trains and validates by proposal recall
(``proposal_fast``); ``tools/test.py`` dumps its proposals of the training and validation images
(``DumpProposals``, the config's commented-out evaluator written out); then
``fast_rcnn/fast-rcnn_r50_fpn_1x_coco.py`` trains and validates on those files."""

import os.path as osp
import pickle
import subprocess
import sys

import pytest

from helpers import REPO
from helpers.coco_layout import write_coco2017

pytestmark = pytest.mark.e2e


def _run(tool: str, config: str, *args: str, options: list[str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, f"tools/{tool}.py", config, *args, "--cfg-options", *options]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


SCALE = "(480,320)"  # the generated images' size: no upscaling to (1333, 800)


def _options(root: str, resizes: list[str]) -> list[str]:
    ann = osp.join(root, "annotations", "instances_val2017.json")
    loaders = [f"{d}.dataset.data_root={root}" for d in ("train_dataloader", "val_dataloader", "test_dataloader")]
    evaluators = [f"val_evaluator.ann_file={ann}", f"test_evaluator.ann_file={ann}"]
    scales = [f"{loader}.dataset.pipeline.{step}.scale={SCALE}" for loader, step in resizes]
    return [
        "default_scope=mmcascade",
        "model.backbone.init_cfg=None",
        "train_cfg.max_epochs=1",
        *loaders,
        *evaluators,
        *scales,
    ]


def _dump_config(tmp_path, rpn_config: str, root: str, split: str) -> str:
    path = tmp_path / f"rpn_dump_{split}.py"
    path.write_text(
        f"_base_ = {rpn_config!r}\n"
        "default_scope = 'mmcascade'\n"
        f"data_root = {root!r}\n"
        "test_pipeline = [\n"
        "    dict(type='LoadImageFromFile'),\n"
        f"    dict(type='Resize', scale={SCALE}, keep_ratio=True),\n"
        "    dict(type='LoadAnnotations', with_bbox=True),\n"
        "    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),\n"
        "]\n"
        "test_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline, "
        f"ann_file='annotations/instances_{split}2017.json', data_prefix=dict(img='{split}2017/')))\n"
        "test_evaluator = [\n"
        "    dict(type='DumpProposals', output_dir=data_root + 'proposals/',\n"
        f"         proposals_file='rpn_r50_fpn_1x_{split}2017.pkl'),\n"
        f"    dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_{split}2017.json',\n"
        "         metric='proposal_fast'),\n"
        "]\n"
    )
    return str(path)


def test_rpn_proposals_feed_a_fast_rcnn(mmdet_configs, tmp_path):
    root = write_coco2017(str(tmp_path / "coco"), num_train=3, num_val=2)
    rpn_config = osp.join(mmdet_configs, "rpn", "rpn_r50_fpn_1x_coco.py")
    resizes = [("train_dataloader", 2), ("val_dataloader", 1)]
    proc = _run("train", rpn_config, "--work-dir", str(tmp_path / "rpn"), options=_options(root, resizes))
    assert "coco/AR@100" in proc.stdout + proc.stderr and "coco/AR@1000" in proc.stdout + proc.stderr
    checkpoint = str(tmp_path / "rpn" / "epoch_1.pth")
    for split, count in (("train", 3), ("val", 2)):
        config = _dump_config(tmp_path, rpn_config, root, split)
        _run(
            "test",
            config,
            checkpoint,
            "--work-dir",
            str(tmp_path / f"dump_{split}"),
            options=["default_scope=mmcascade"],
        )
        with open(osp.join(root, "proposals", f"rpn_r50_fpn_1x_{split}2017.pkl"), "rb") as f:
            proposals = pickle.load(f)
        assert len(proposals) == count and all(k.startswith(f"{split}2017/") for k in proposals)
        first = next(iter(proposals.values()))
        assert first.bboxes.shape[1] == 4 and len(first.scores) == len(first.bboxes) <= 1000
        assert (first.scores[:-1] >= first.scores[1:]).all()  # best first
    fast_config = osp.join(mmdet_configs, "fast_rcnn", "fast-rcnn_r50_fpn_1x_coco.py")
    resizes = [("train_dataloader", "3.transforms.0"), ("val_dataloader", "2.transforms.0")]
    proc = _run("train", fast_config, "--work-dir", str(tmp_path / "fast"), options=_options(root, resizes))
    log = proc.stdout + proc.stderr
    assert "loss_cls" in log and "coco/bbox_mAP" in log
