"""The model zoo's cascade rows on other backbones: MMDetection 3.3's (RegNet, HRNet, ResNeSt,
Res2Net, DCN, ConvNeXt) with the keys and shapes of its models, and Swin Transformer's own
detection repository's, whose checkpoints are converted to MMDetection's layout when read."""

import gzip
import json
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config

from mmcascade.checkpoint import read_checkpoint
from mmcascade.config.loading import find_config
from mmcascade.registry import MODELS
from mmcascade.utils import register_all_modules
from mmcascade.zoo import get_entry, load_manifest

from helpers import DATA

MANIFEST = load_manifest()
MMDET_ROWS = [e for e in MANIFEST.values() if e.source == "mmdetection-3.3-backbones"]
SWIN_ROWS = [e for e in MANIFEST.values() if e.source == "swin-official"]
# MMDetection 3.3.0's models built from its own configs of these rows (keys and shapes)
with gzip.open(osp.join(DATA, "mmdet_cascade_backbone_keys.json.gz"), "rt") as _f:
    MMDET_KEYS = json.load(_f)["models"]


def _build(entry) -> torch.nn.Module:
    register_all_modules()
    cfg = Config.fromfile(str(entry.config_path)).model
    cfg.backbone.init_cfg = None
    return MODELS.build(cfg)


def test_rows_and_their_names():
    folders = {e.config.split("/")[1] for e in MMDET_ROWS}
    assert folders == {"regnet", "hrnet", "resnest", "res2net", "dcn", "convnext"}
    assert len(MMDET_ROWS) == 24 and len(SWIN_ROWS) == 4
    for e in MMDET_ROWS:
        # the checkpoint's folder is the row's name; its file name ends in the sha256 prefix
        assert e.checkpoint_url.split("/")[-2].replace("%2B", "+") == e.name
        assert re.search(rf"-{e.hash_prefix}\.pth$", e.checkpoint_url)
        # MMDetection 3's name finds the row and its config
        assert get_entry(e.mmdet_name).name == e.name and find_config(e.mmdet_name) == e.config_path
        mmdet_stem = osp.basename(e.mmdet_config)[:-3]
        assert get_entry(mmdet_stem).name == e.name and e.mmdet_config.startswith(f"configs/{e.config.split('/')[1]}/")
        assert e.checkpoint_format == "pytorch" and e.box_ap > 40
    convnext_t = get_entry("cascade-mask-rcnn_convnext-t-p4-w7_fpn_4conv1fc-giou_amp-ms-crop-3x_coco")
    assert (convnext_t.box_ap, convnext_t.mask_ap, convnext_t.schedule) == (50.3, 43.6, "3x")
    swin = {(e.backbone, e.schedule): (e.box_ap, e.mask_ap) for e in SWIN_ROWS}
    assert swin == {
        ("Swin-T-FPN", "1x"): (48.1, 41.7),
        ("Swin-T-FPN", "3x"): (50.4, 43.7),
        ("Swin-S-FPN", "3x"): (51.9, 45.0),
        ("Swin-B-FPN", "3x"): (51.9, 45.0),
    }
    assert all(e.checkpoint_format == "swin-official" and e.hash_prefix is None for e in SWIN_ROWS)


@pytest.mark.parametrize(
    "backbone, count",
    [("RegNet", 5), ("HRNet", 6), ("ResNeSt", 4), ("Res2Net", 2), ("DCN", 5), ("ConvNeXt", 2), ("Swin", 4)],
)
def test_zoo_list_filters_by_backbone(backbone, count, capsys):
    from mmcascade.tools.model_zoo import main

    assert main(["list", "--backbone", backbone]) == 0
    assert f" {count} model(s) " in capsys.readouterr().out


@pytest.mark.parametrize("entry", MMDET_ROWS, ids=lambda e: e.name)
def test_keys_and_shapes_equal_mmdetection(entry):
    """Every state-dict entry of MMDetection's model of the row, with the same shape, and no other:
    its published checkpoint loads strictly."""
    got = {k: list(v.shape) for k, v in _build(entry).state_dict().items()}
    assert got == dict(MMDET_KEYS[entry.name])


def _official_swin_name(key: str) -> str:
    """Our (MMDetection 3's) Swin key in the layout of Swin's own repository."""
    for pattern, repl in [
        (r"^backbone\.patch_embed\.projection\.", "backbone.patch_embed.proj."),
        (r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.attn\.w_msa\.", r"backbone.layers.\1.blocks.\2.attn."),
        (r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.ffn\.layers\.0\.0\.", r"backbone.layers.\1.blocks.\2.mlp.fc1."),
        (r"^backbone\.stages\.(\d+)\.blocks\.(\d+)\.ffn\.layers\.1\.", r"backbone.layers.\1.blocks.\2.mlp.fc2."),
        (r"^backbone\.stages\.", "backbone.layers."),
    ]:
        if re.match(pattern, key):
            return re.sub(pattern, repl, key)
    return key


def test_swin_official_checkpoint_is_converted_when_read(tmp_path):
    """A checkpoint in the layout of Swin's detection repository (MMDetection 2.11: ``layers.i``,
    ``attn.qkv``, ``mlp.fc1``, patch merging in its own channel order) reads as the zoo config's
    model: same keys and shapes, the same values after undoing the merging order."""
    entry = get_entry("cascade_mask_rcnn_swin_tiny_patch4_window7_mstrain_480-800_giou_4conv1f_adamw_1x_coco")
    model = _build(entry)
    ours = model.state_dict()
    g = torch.Generator().manual_seed(0)
    official = {}
    for key, value in ours.items():
        value = torch.randn(value.shape, generator=g) if value.is_floating_point() else value
        name = _official_swin_name(key)
        if ".downsample." in key:  # official order: the 2x2 positions outermost (x0, x1, x2, x3)
            c = value.shape[-1] // 4
            lead = value.shape[:-1]
            by_position = value.reshape(*lead, c, 2, 2).transpose(-1, -2).reshape(*lead, c, 4)
            value = by_position.transpose(-1, -2).reshape(*lead, 4 * c)
        official[name] = value
    assert "backbone.layers.2.blocks.5.mlp.fc2.weight" in official and "backbone.norm3.weight" in official
    path = tmp_path / "cascade_mask_rcnn_swin_tiny_patch4_window7_1x.pth"
    torch.save(dict(meta=dict(epoch=12), state_dict=official), path)
    state = read_checkpoint(str(path))["state_dict"]
    assert [(k, v.shape) for k, v in state.items()] != [] and set(state) == set(ours)
    for key, value in state.items():
        assert value.shape == ours[key].shape, key
    reference = {k: official[_official_swin_name(k)] for k in ours if ".downsample." not in k}
    assert all(torch.equal(state[k], v) for k, v in reference.items())
    # the patch merging: mmcv's unfold order is channel-major, positions (0,0), (0,1), (1,0), (1,1)
    merged = state["backbone.stages.0.downsample.reduction.weight"]
    raw = official["backbone.layers.0.downsample.reduction.weight"]
    c = raw.shape[1] // 4
    x0, x1, x2, x3 = raw[:, :c], raw[:, c : 2 * c], raw[:, 2 * c : 3 * c], raw[:, 3 * c :]
    # official: x0 = (0,0), x1 = (1,0), x2 = (0,1), x3 = (1,1)
    assert torch.equal(merged[:, 0::4], x0) and torch.equal(merged[:, 1::4], x2)
    assert torch.equal(merged[:, 2::4], x1) and torch.equal(merged[:, 3::4], x3)
    model.load_state_dict(state, strict=True)
