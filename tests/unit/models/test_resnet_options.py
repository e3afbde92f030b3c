"""ResNet's ``strides`` / ``dilations`` (DC5), ``stem_channels``, ``deep_stem`` and ``avg_down`` as
MMDetection 3.3.0 builds them. The numbers (state-dict size, trainable parameters after freezing,
sum of |feature| per stage) were measured from MMDetection 3.3.0 with the same weights (every
float entry drawn in key order from one seeded generator) and input."""

import pytest
import torch

from mmcascade.registry import MODELS


@pytest.mark.parametrize(
    "options, num_keys, trainable, shapes, sums",
    [
        (
            dict(depth=50, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),
            318,
            159,
            [(32, 16, 16), (64, 8, 8), (128, 4, 4), (256, 4, 4)],
            [3584.498, 1778.9, 1177.311, 3544.288],
        ),
        (
            dict(depth=18, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),
            120,
            60,
            [(8, 16, 16), (16, 8, 8), (32, 4, 4), (64, 4, 4)],
            [3227.804, 1220.965, 551.412, 1641.662],
        ),
        (
            dict(depth=50, stem_channels=16, deep_stem=True, avg_down=True, frozen_stages=1),
            330,
            126,
            [(32, 16, 16), (64, 8, 8), (128, 4, 4), (256, 2, 2)],
            [3206.444, 1694.47, 1575.676, 1015.44],
        ),
        (
            dict(depth=18, stem_channels=12, deep_stem=True),
            138,
            69,
            [(8, 16, 16), (16, 8, 8), (32, 4, 4), (64, 2, 2)],
            [937.219, 383.139, 224.889, 125.873],
        ),
    ],
)
def test_resnet_options_as_mmdet(options, num_keys, trainable, shapes, sums):
    resnet = MODELS.build(
        dict(type="ResNet", base_channels=8, norm_cfg=dict(type="BN", requires_grad=True), init_cfg=None, **options)
    )
    resnet.train()
    state = resnet.state_dict()
    g = torch.Generator().manual_seed(0)
    seeded = {}
    for k, v in sorted(state.items()):
        if not v.is_floating_point():
            seeded[k] = v
        elif "running_var" in k:
            seeded[k] = torch.rand(v.shape, generator=g) + 0.5
        else:
            seeded[k] = torch.randn(v.shape, generator=g) * 0.3
    resnet.load_state_dict(seeded)
    assert len(state) == num_keys and sum(p.requires_grad for p in resnet.parameters()) == trainable
    resnet.eval()
    with torch.no_grad():
        feats = resnet(torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1)))
    assert [tuple(f.shape[1:]) for f in feats] == shapes
    assert [float(f.abs().sum()) for f in feats] == pytest.approx(sums, rel=1e-5)
    if options.get("deep_stem"):
        assert {"stem.0.weight", "stem.1.running_mean", "stem.3.weight", "stem.7.weight"} <= set(state)
    if options.get("avg_down"):  # the pooling comes first in every stage, 1 x 1 in layer1 (MMDetection's keys)
        assert {"layer2.0.downsample.1.weight", "layer2.0.downsample.2.running_var"} <= set(state)
        assert {"layer1.0.downsample.1.weight", "layer1.0.downsample.2.running_var"} <= set(state)
