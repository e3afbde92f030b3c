"""MMDetection 3.3.0's own configs of the RegNet, Res2Net, ResNeSt, DCN, DCNv2, HRNet, Swin and ConvNeXt folders, read
from MMDetection's published wheel (downloaded, not installed), run by ``tools/train.py`` as a user
runs them: only the registry scope, the data paths (generated data in COCO 2017's layout), the
pretrained-backbone download (not reachable here), the number of epochs and (for time) the resize
scales, a quarter as large, changed. Each trains an epoch of one iteration and validates; the
deformable RoI pooling config is refused by name on a machine without CUDA, as mmcv has that op
for CUDA only."""

import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmcascade.zoo import load_manifest

from helpers import REPO
from helpers.coco_layout import write_coco2017

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def coco_root(tmp_path_factory) -> str:
    return write_coco2017(str(tmp_path_factory.mktemp("coco")), num_train=3, num_val=2)  # 2 annotated: one batch


def _quarter_scales(node):
    """Every resize transform's target scale(s) a quarter as large (the generated images are
    320 x 240): the same pipeline at a fraction of the cost."""
    if isinstance(node, dict):
        out = {k: _quarter_scales(v) for k, v in node.items()}
        if "Resize" in str(node.get("type", "")):
            for key in ("scale", "scales"):
                if key in out:
                    out[key] = _scaled(out[key])
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(_quarter_scales(v) for v in node)
    return node


def _scaled(value):
    if isinstance(value, (int, float)):
        return max(32, int(value) // 4)
    return type(value)(_scaled(v) for v in value)


def _small_copy(config: str, tmp) -> str:
    """``config`` with :func:`_quarter_scales`, written next to the work dir (the original and its
    bases are read from MMDetection's folder)."""
    cfg = Config.fromfile(config, import_custom_modules=False)
    for key in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg[key] = _quarter_scales(cfg[key].to_dict())
    path = osp.join(str(tmp), "small_" + osp.basename(config))
    cfg.dump(path)
    return path


def _train(config: str, root: str, work_dir, *extra: str) -> subprocess.CompletedProcess:
    ann = osp.join(root, "annotations", "instances_val2017.json")
    options = [
        f"{loader}.dataset.data_root={root}" for loader in ("train_dataloader", "val_dataloader", "test_dataloader")
    ]
    options += [
        "default_scope=mmcascade",
        f"val_evaluator.ann_file={ann}",
        f"test_evaluator.ann_file={ann}",
        "model.backbone.init_cfg=None",
        "train_cfg.max_epochs=1",
        *extra,
    ]
    cmd = [sys.executable, "tools/train.py", config, "--work-dir", str(work_dir), "--cfg-options", *options]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)


CONFIGS = [
    # config, a checkpoint key its backbone must carry (MMDetection's layout)
    ("regnet/mask-rcnn_regnetx-3.2GF_fpn_1x_coco.py", "backbone.layer4.0.conv2.weight"),
    ("res2net/cascade-rcnn_res2net-101_fpn_20e_coco.py", "backbone.layer3.22.convs.2.weight"),
    ("resnest/cascade-rcnn_s50_fpn_syncbn-backbone+head_ms-range-1x_coco.py", "backbone.layer2.0.conv2.fc2.weight"),
    ("dcn/cascade-rcnn_r50-dconv-c3-c5_fpn_1x_coco.py", "backbone.layer2.0.conv2.conv_offset.weight"),
    ("dcnv2/faster-rcnn_r50-mdconv-group4-c3-c5_fpn_1x_coco.py", "backbone.layer4.2.conv2.conv_offset.bias"),
    ("hrnet/cascade-mask-rcnn_hrnetv2p-w18_20e_coco.py", "backbone.stage4.2.fuse_layers.3.2.0.0.weight"),
    (
        "swin/mask-rcnn_swin-t-p4-w7_fpn_1x_coco.py",
        "backbone.stages.2.blocks.5.attn.w_msa.relative_position_bias_table",
    ),
]


def test_convnext_amp_config_refused_without_gpu_then_trains_in_fp32(mmdet_configs, coco_root, tmp_path):
    """The ConvNeXt cascade row's config (mmpretrain's ConvNeXt, layer-wise lr decay, GIoU on
    decoded boxes, AMP): refused before any work on a machine without CUDA, as AMP needs a GPU;
    with ``optim_wrapper.type=OptimWrapper`` it trains in fp32 and validates."""
    config = osp.join(
        mmdet_configs, "convnext/cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco.py"
    )
    if not torch.cuda.is_available():
        refused = _train(config, coco_root, tmp_path / "amp")
        assert refused.returncode != 0 and "needs a GPU, as in MMDetection" in refused.stderr + refused.stdout
    proc = _train(_small_copy(config, tmp_path), coco_root, tmp_path / "work", "optim_wrapper.type=OptimWrapper")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "custom_imports 'mmpretrain.models' skipped" in out and "Epoch(val) [1][2/2]" in out
    state = torch.load(tmp_path / "work" / "epoch_1.pth", map_location="cpu", weights_only=False)["state_dict"]
    assert (
        state["backbone.stages.2.8.gamma"].shape == (384,)
        and "roi_head.bbox_head.2.shared_convs.3.conv.weight" in state
    )


@pytest.mark.parametrize("config, key", CONFIGS, ids=[c[0].split("/")[0] for c in CONFIGS])
def test_config_trains_and_validates(mmdet_configs, coco_root, tmp_path, config, key):
    proc = _train(_small_copy(osp.join(mmdet_configs, config), tmp_path), coco_root, tmp_path / "work")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    assert "Epoch(train) [1][1/1]" in out and "Epoch(val) [1][2/2]" in out and "coco/bbox_mAP:" in out, out[-3000:]
    state = torch.load(tmp_path / "work" / "epoch_1.pth", map_location="cpu", weights_only=False)["state_dict"]
    assert key in state and all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


@pytest.mark.skipif(torch.cuda.is_available(), reason="the refusal is for machines without CUDA")
def test_deformable_roi_pooling_is_refused_by_name_without_cuda(mmdet_configs, coco_root, tmp_path):
    proc = _train(osp.join(mmdet_configs, "dcn/faster-rcnn_r50_fpn_dpool_1x_coco.py"), coco_root, tmp_path / "work")
    assert proc.returncode != 0
    assert (
        "roi_layer type='DeformRoIPoolPack': mmcv has deformable RoI pooling only for CUDA" in proc.stderr + proc.stdout
    )


def _plain(node):
    """A config node as plain data, without what only says where weights and files come from."""
    if isinstance(node, dict):
        return {k: _plain(v) for k, v in node.items() if k not in ("init_cfg", "backend_args", "_scope_")}
    if isinstance(node, (list, tuple)):
        return [_plain(v) for v in node]
    return node


# Where a zoo row's config says the same as MMDetection's in other words, or differs on purpose:
# one mask head per stage written out (MMDetection: one dict the cascade copies); the test
# pipeline loads no masks (the evaluator reads them from the annotation file).
def _same_meaning(mmdet: dict, ours: dict) -> dict:
    heads = mmdet["model"].get("roi_head", {}).get("mask_head")
    if isinstance(heads, dict):
        mmdet["model"]["roi_head"]["mask_head"] = [heads] * len(ours["model"]["roi_head"]["mask_head"])
    for step in mmdet["test_pipeline"]:
        step.pop("with_mask", None) if step["type"] == "LoadAnnotations" else None
    return mmdet


@pytest.mark.parametrize(
    "entry",
    [e for e in load_manifest().values() if e.mmdet_name],
    ids=lambda e: e.name,
)
def test_zoo_row_config_says_what_mmdetections_says(mmdet_configs, entry):
    """Each zoo row on another backbone is MMDetection 3.3's config of that row: the same model,
    optimizer, schedule, training pipeline and data loader."""
    from mmcascade.config.loading import read_config

    theirs = read_config(osp.join(mmdet_configs, entry.mmdet_config[len("configs/") :]))
    ours = read_config(str(entry.config_path))
    keys = (
        "model",
        "optim_wrapper",
        "param_scheduler",
        "train_cfg",
        "train_pipeline",
        "test_pipeline",
        "train_dataloader",
    )
    mmdet = {k: _plain(theirs.to_dict().get(k)) for k in keys}
    mine = {k: _plain(ours.to_dict().get(k)) for k in keys}
    mmdet = _same_meaning(mmdet, mine)
    for key in keys:
        assert mine[key] == mmdet[key], key
