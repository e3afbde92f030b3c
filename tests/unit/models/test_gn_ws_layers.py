"""FPN and FCNMaskHead with MMDetection's ``conv_cfg`` (weight standardisation, the GN+WS rows),
``no_norm_on_lateral`` and ``act_cfg``: MMDetection 3.3.0's checkpoint keys and outputs. The numbers
were measured from MMDetection 3.3.0 with the same weights (every parameter drawn in key order from
one seeded generator) and inputs."""

import pytest
import torch

from mmcascade.registry import MODELS

GN = dict(type="GN", num_groups=4, requires_grad=True)


def _seeded(cfg: dict) -> torch.nn.Module:
    module = MODELS.build(cfg)
    module.init_weights()
    module.eval()
    g = torch.Generator().manual_seed(0)
    module.load_state_dict({k: torch.randn(v.shape, generator=g) * 0.3 for k, v in sorted(module.state_dict().items())})
    return module


@pytest.mark.parametrize(
    "options, expected",
    [
        (
            dict(conv_cfg=dict(type="ConvWS"), norm_cfg=GN),
            [-250.8165740966797, -207.2312774658203, 33.07801818847656, 6.93442964553833, 0.1582316756248474],
        ),
        (
            dict(norm_cfg=GN, no_norm_on_lateral=True, act_cfg=dict(type="ReLU")),
            [390.0661926269531, 62.58064651489258, 50.410484313964844, 11.534961700439453, 0.0],
        ),
    ],
)
def test_fpn_conv_norm_act_options(options, expected):
    fpn = _seeded(dict(type="FPN", in_channels=[4, 8, 16], out_channels=8, num_outs=4, **options))
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        outs = fpn([torch.randn(2, c, s, s, generator=g) for c, s in ((4, 16), (8, 8), (16, 4))])
    got = [float(o.sum()) for o in outs] + [float(outs[0].flatten()[7])]
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-4)
    if options.get("no_norm_on_lateral"):
        assert "lateral_convs.0.gn.weight" not in fpn.state_dict() and "fpn_convs.0.gn.weight" in fpn.state_dict()


def test_mask_head_weight_standardised_tower():
    head = _seeded(
        dict(
            type="FCNMaskHead",
            num_convs=2,
            in_channels=8,
            conv_out_channels=8,
            num_classes=3,
            conv_cfg=dict(type="ConvWS"),
            norm_cfg=GN,
        )
    )
    with torch.no_grad():
        out = head(torch.randn(2, 8, 14, 14, generator=torch.Generator().manual_seed(1)))
    assert [float(out.sum()), float(out.flatten()[11])] == pytest.approx(
        [-463.1108093261719, 0.38511982560157776], rel=1e-5
    )


@pytest.mark.parametrize(
    "depth, expected",
    [(18, [875.263, 267.279, 205.298, 68.018]), (50, [2689.382, 2285.524, 1159.239, 441.854])],
)
def test_resnet_weight_standardised_convs(depth, expected):
    """ResNet(conv_cfg=ConvWS, norm_cfg=GN) at width 8: the sum of |feature| of each stage, as
    MMDetection 3.3.0 gave with the same weights."""
    cfg = dict(type="ResNet", depth=depth, base_channels=8, conv_cfg=dict(type="ConvWS"), norm_cfg=GN, init_cfg=None)
    resnet = _seeded(cfg)
    with torch.no_grad():
        feats = resnet(torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)))
    assert [float(f.abs().sum()) for f in feats] == pytest.approx(expected, rel=1e-5)
