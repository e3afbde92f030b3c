"""Converters: Detectron pickles (generated with Detectron's blob names), MMDetection v1 keys,
publishing."""

import hashlib
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmcascade.apis import init_detector, install_state_dict
from mmcascade.converters.detectron import (
    ConversionError,
    backbone_name_map,
    convert_backbone,
    detector_state_from_pkl,
    read_detectron_blobs,
)
from mmcascade.converters.upgrade import is_v1_layout, upgrade_v1_state
from mmcascade.registry import MODELS

from helpers import REPO
from helpers.detectron_blobs import detector_blobs, resnet_blobs, write_pickle
from helpers.e2e import run_tool

DETECTRON = os.path.join(REPO, "configs", "detectron_cascade")


def _build(config: str):
    cfg = Config.fromfile(os.path.join(DETECTRON, config))
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model).eval()


def test_backbone_blob_names():
    assert backbone_name_map("conv1_w") == ("conv1", "w")
    assert backbone_name_map("res_conv1_bn_s") == ("bn1", "bn_s")
    assert backbone_name_map("res3_1_branch2b_bn_s") == ("layer2.1.bn2", "bn_s")
    assert backbone_name_map("res4_22_branch2c_w") == ("layer3.22.conv3", "w")
    assert backbone_name_map("res2_0_branch1_w") == ("layer1.0.downsample.0", "w")
    assert backbone_name_map("res5_0_branch1_bn_b") == ("layer4.0.downsample.1", "bn_b")
    assert backbone_name_map("fpn_res5_2_sum_w") is None


@pytest.mark.parametrize("depth, groups, width, style", [(50, 1, 64, "caffe"), (101, 64, 4, "pytorch")])
def test_imagenet_backbone_loads_strictly(depth, groups, width, style):
    blobs = resnet_blobs(depth, groups, width)
    kind = dict(type="ResNet") if groups == 1 else dict(type="ResNeXt", groups=groups, base_width=width)
    backbone = MODELS.build(dict(kind, depth=depth, style=style, norm_cfg=dict(type="BN", requires_grad=False)))
    install_state_dict(backbone.eval(), convert_backbone(blobs, eps=1e-5), "generated pickle")
    sd = backbone.state_dict()
    assert torch.equal(sd["layer3.2.conv2.weight"], torch.from_numpy(blobs["res4_2_branch2b_w"]))
    assert torch.equal(sd["layer1.0.downsample.0.weight"], torch.from_numpy(blobs["res2_0_branch1_w"]))
    # AffineChannel y = s * x + b is reproduced exactly by the frozen BatchNorm
    x = torch.randn(2, 256, 5, 5)
    bn = backbone.layer1[0].downsample[1]
    s, b = blobs["res2_0_branch1_bn_s"], blobs["res2_0_branch1_bn_b"]
    expected = x * torch.from_numpy(s)[:, None, None] + torch.from_numpy(b)[:, None, None]
    torch.testing.assert_close(bn(x), expected, rtol=0, atol=1e-6)


@pytest.mark.e2e  # runs the tool in a subprocess
def test_mask_rcnn_detector_pickle_through_the_tool(tmp_path):
    blobs = detector_blobs(50, mask=True)
    pkl, out = tmp_path / "model_final.pkl", tmp_path / "converted.pth"
    write_pickle(pkl, blobs)
    config = os.path.join(DETECTRON, "mask_rcnn_r50_fpn_1x_detectron.py")
    proc = run_tool(
        "tools/model_converters/detectron_to_mmcascade.py", str(pkl), str(out), "--kind", "detector", "--config", config
    )
    assert "converted.pth" in proc.stdout
    sd = torch.load(out, weights_only=True)["state_dict"]
    t = lambda k: torch.from_numpy(blobs[k])  # noqa: E731
    # background moves from Detectron's row 0 to our last row; its 4 box outputs are dropped
    assert torch.equal(sd["roi_head.bbox_head.fc_cls.weight"][:80], t("cls_score_w")[1:])
    assert torch.equal(sd["roi_head.bbox_head.fc_cls.weight"][80], t("cls_score_w")[0])
    assert torch.equal(sd["roi_head.bbox_head.fc_reg.weight"], t("bbox_pred_w")[4:])
    assert torch.equal(sd["roi_head.mask_head.conv_logits.bias"], t("mask_fcn_logits_b")[1:])
    assert torch.equal(sd["neck.lateral_convs.3.conv.weight"], t("fpn_inner_res5_2_sum_w"))
    assert torch.equal(sd["neck.lateral_convs.0.conv.weight"], t("fpn_inner_res2_2_sum_lateral_w"))
    assert torch.equal(sd["neck.fpn_convs.2.conv.bias"], t("fpn_res4_5_sum_b"))
    assert torch.equal(sd["rpn_head.rpn_reg.weight"], t("rpn_bbox_pred_fpn2_w"))
    assert torch.equal(sd["roi_head.mask_head.upsample.weight"], t("conv5_mask_w"))
    assert not any("momentum" in k for k in sd)


def test_faster_rcnn_pickle_in_init_detector(tmp_path):
    pkl = tmp_path / "model_final.pkl"
    write_pickle(pkl, detector_blobs(50, mask=False, seed=3))
    model = init_detector(os.path.join(DETECTRON, "faster_rcnn_r50_fpn_1x_detectron.py"), str(pkl))
    assert torch.equal(
        model.state_dict()["backbone.conv1.weight"], torch.from_numpy(read_detectron_blobs(pkl)["conv1_w"])
    )
    assert len(model.dataset_meta["classes"]) == 80
    with pytest.raises(ConversionError, match="single-stage"):
        detector_state_from_pkl(pkl, _build("cascade_rcnn_r50_fpn_1x_detectron.py"))


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/mmcascade_pwned",))


def test_pickle_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pkl"
    with open(path, "wb") as f:
        pickle.dump({"blobs": {"conv1_w": np.zeros(1, np.float32)}, "x": _Evil()}, f, protocol=2)
    with pytest.raises(ConversionError, match="refused to unpickle posix.system"):
        read_detectron_blobs(path)
    assert not os.path.exists("/tmp/mmcascade_pwned")


@pytest.mark.e2e  # runs the tool in a subprocess
def test_v1_keys_upgrade_to_v2_layout(tmp_path):
    v2 = {
        "backbone.conv1.weight": torch.randn(4, 3, 1, 1),
        "roi_head.bbox_head.0.fc_cls.weight": torch.randn(81, 8),
        "roi_head.bbox_head.0.fc_reg.weight": torch.randn(320, 8),
        "roi_head.bbox_head.1.fc_reg.weight": torch.randn(4, 8),  # class-agnostic
        "roi_head.mask_head.0.conv_logits.weight": torch.randn(80, 8, 1, 1),
    }
    v1 = {
        "backbone.conv1.weight": v2["backbone.conv1.weight"],
        "bbox_head.0.fc_cls.weight": torch.cat(
            [v2["roi_head.bbox_head.0.fc_cls.weight"][80:], v2["roi_head.bbox_head.0.fc_cls.weight"][:80]]
        ),
        "bbox_head.0.fc_reg.weight": torch.cat([torch.zeros(4, 8), v2["roi_head.bbox_head.0.fc_reg.weight"]]),
        "bbox_head.1.fc_reg.weight": v2["roi_head.bbox_head.1.fc_reg.weight"],
        "mask_head.0.conv_logits.weight": torch.cat(
            [torch.zeros(1, 8, 1, 1), v2["roi_head.mask_head.0.conv_logits.weight"]]
        ),
    }
    assert is_v1_layout(v1) and not is_v1_layout(v2)
    frozen = {k: v.clone() for k, v in v1.items()}
    up = upgrade_v1_state(v1)
    assert up.keys() == v2.keys() and all(torch.equal(up[k], v2[k]) for k in v2)
    assert all(torch.equal(v1[k], frozen[k]) for k in v1)  # input untouched
    src, dst = tmp_path / "v1.pth", tmp_path / "v2.pth"
    torch.save({"state_dict": v1, "meta": {"CLASSES": ["a"] * 80}}, src)
    run_tool("tools/model_converters/upgrade_model_version.py", str(src), str(dst))
    out = torch.load(dst, weights_only=True)
    assert all(torch.equal(out["state_dict"][k], v2[k]) for k in v2) and out["meta"]["CLASSES"][0] == "a"


@pytest.mark.e2e  # runs the tool in a subprocess
def test_publish_model_appends_sha256_prefix(tmp_path):
    src = tmp_path / "epoch_3.pth"
    torch.save(
        {
            "state_dict": {"w": torch.ones(2)},
            "meta": {"epoch": 3, "CLASSES": ("x",)},
            "optimizer": {"state": {}, "param_groups": []},
        },
        src,
    )
    proc = run_tool("tools/model_converters/publish_model.py", str(src), str(tmp_path / "model.pth"))
    final = proc.stdout.strip().splitlines()[-1]
    digest = hashlib.sha256(open(final, "rb").read()).hexdigest()
    assert final.endswith(f"model-{digest[:8]}.pth")
    published = torch.load(final, weights_only=True)
    assert set(published) == {"state_dict", "meta"} and published["meta"]["epoch"] == 3
