"""ConvFCBBoxHead and Shared4Conv1FCBBoxHead (the GN / GN+WS cascade rows' box head): MMDetection
3.3.0's checkpoint keys and outputs. The reference numbers were measured from MMDetection 3.3.0 with
the same weights (every parameter drawn in key order from one seeded generator) and input."""

import pytest
import torch

from mmcascade.registry import MODELS

from helpers import tiny_model_cfg
from helpers.models import make_batch

CODER = dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2])
GN = dict(type="GN", num_groups=4, requires_grad=True)
COMMON = dict(in_channels=8, roi_feat_size=7, num_classes=3, bbox_coder=CODER)


def _run(cfg: dict) -> tuple[dict, torch.Tensor, torch.Tensor]:
    head = MODELS.build(cfg)
    head.init_weights()
    head.eval()
    g = torch.Generator().manual_seed(0)
    weights = {k: torch.randn(v.shape, generator=g) * 0.2 for k, v in sorted(head.state_dict().items())}
    head.load_state_dict(weights)
    x = torch.randn(5, 8, 7, 7, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        cls, reg = head(x)
    return {k: list(v.shape) for k, v in head.state_dict().items()}, cls, reg


def test_shared4conv1fc_gn_keys_and_outputs():
    cfg = dict(
        type="Shared4Conv1FCBBoxHead", conv_out_channels=16, fc_out_channels=32, norm_cfg=GN, reg_class_agnostic=True
    )
    keys, cls, _ = _run({**COMMON, **cfg})
    conv_keys = {}
    for i in range(4):
        conv_keys[f"shared_convs.{i}.conv.weight"] = [16, 8 if i == 0 else 16, 3, 3]  # no bias under GN
        conv_keys[f"shared_convs.{i}.gn.weight"] = [16]
        conv_keys[f"shared_convs.{i}.gn.bias"] = [16]
    assert keys == {
        "fc_cls.weight": [4, 32],
        "fc_cls.bias": [4],
        "fc_reg.weight": [4, 32],
        "fc_reg.bias": [4],
        **conv_keys,
        "shared_fcs.0.weight": [32, 784],
        "shared_fcs.0.bias": [32],
    }
    expected = [
        [-0.023272931575775146, -0.3587230443954468, -1.3937671184539795, -0.34953635931015015],
        [0.13265272974967957, -0.43624675273895264, -1.4702279567718506, -0.35105279088020325],
    ]
    assert torch.allclose(cls[:2], torch.tensor(expected), atol=1e-5)


def test_shared4conv1fc_weight_standardised_convs():
    cfg = dict(
        type="Shared4Conv1FCBBoxHead",
        conv_out_channels=16,
        fc_out_channels=32,
        conv_cfg=dict(type="ConvWS"),
        norm_cfg=GN,
    )
    keys, _, reg = _run({**COMMON, **cfg})
    assert keys["fc_reg.weight"] == [12, 32]
    expected = [0.013280302286148071, 0.6538557410240173, -0.23358838260173798, -0.3615598678588867]
    assert torch.allclose(reg[0, :4], torch.tensor(expected), atol=1e-5)


def test_convfc_convs_without_fcs():
    cfg = dict(type="ConvFCBBoxHead", num_shared_convs=2, num_shared_fcs=0, conv_out_channels=4)
    keys, cls, _ = _run({**COMMON, **cfg})
    assert keys["shared_convs.0.conv.bias"] == [4] and keys["fc_cls.weight"] == [4, 196]
    expected = [2.356745481491089, 0.2262340784072876, 1.5649125576019287, -2.468606948852539]
    assert torch.allclose(cls[0], torch.tensor(expected), atol=1e-5)


def test_fixed_counts_and_branches_are_refused_by_name():
    with pytest.raises(ValueError, match="num_shared_convs=4"):
        MODELS.build(dict(type="Shared4Conv1FCBBoxHead", num_shared_convs=2, **COMMON))
    with pytest.raises(ValueError, match="2 shared FCs"):
        MODELS.build(dict(type="Shared2FCBBoxHead", num_shared_fcs=1, **COMMON))
    with pytest.raises(Exception, match="num_cls_convs"):
        MODELS.build(dict(type="ConvFCBBoxHead", num_cls_convs=1, **COMMON))


def test_cascade_with_gn_4conv1fc_heads_trains_and_predicts():
    cfg = tiny_model_cfg("cascade-rcnn_r50_fpn")
    for head in cfg["roi_head"]["bbox_head"]:
        head.update(type="Shared4Conv1FCBBoxHead", conv_out_channels=16, norm_cfg=GN)
    model = MODELS.build(cfg)
    model.init_weights()
    losses = model.loss(**make_batch(model, training=True))
    total = sum(v for k, v in losses.items() if "loss" in k)
    total.backward()
    grad = model.roi_head.bbox_head[2].shared_convs[3].gn.weight.grad
    assert torch.isfinite(total) and grad is not None and grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        results = model.predict(**make_batch(model, training=False))
    assert len(results) == 2 and results[0].pred_instances.bboxes.shape[1] == 4
