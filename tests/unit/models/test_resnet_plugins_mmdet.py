"""ResNet ``plugins`` (GCNet's ``ContextBlock``, mmcv's ``GeneralizedAttention``) in the
bottlenecks, against MMDetection 3.3.0: its ResNet / ResNeXt with the same plugins loads our state
dict key for key (``strict=True``: ``layer2.0.context_block.*``, a ``postfix`` giving
``context_block2``), and in training mode the four stages' outputs equal its own."""

import pytest
import torch

from mmcascade.registry import MODELS

GCB = dict(cfg=dict(type="ContextBlock", ratio=1.0 / 4), stages=(False, True, True, True), position="after_conv3")
CONFIGS = {
    "gcb": dict(type="ResNet", depth=50, norm_cfg=dict(type="BN", requires_grad=True), norm_eval=False, plugins=[GCB]),
    "mixed": dict(
        type="ResNeXt",
        depth=50,
        groups=32,
        base_width=4,
        plugins=[
            dict(
                cfg=dict(
                    type="GeneralizedAttention", spatial_range=-1, num_heads=8, attention_type="0010", kv_stride=2
                ),
                stages=(False, False, True, True),
                position="after_conv2",
            ),
            dict(cfg=dict(type="ContextBlock", ratio=1.0 / 16, postfix=2), position="after_conv1"),
        ],
    ),
}
# measured with MMDetection 3.3.0 on the same weights and input
MMDET = {'gcb': {'sums': [78408.53125, 42154.640625, 21716.56640625, 10673.3876953125],
         'absmax': [5.001805782318115, 5.148685932159424, 4.0659308433532715, 3.1265058517456055]},
 'mixed': {'sums': [29119.16796875, 10779.248046875, 3408.215576171875, 1053.002685546875],
           'absmax': [1.4604872465133667, 0.9747483730316162, 0.7132085561752319, 0.5325779318809509]}}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_plugins_match_mmdetection(name):
    model = MODELS.build(dict(CONFIGS[name], init_cfg=None))
    torch.manual_seed(0)
    model.init_weights()
    for key, p in model.named_parameters():
        if "context_block" in key or "gen_attention" in key:  # the context block's last conv starts at zero
            torch.nn.init.normal_(p, std=0.05)
    model.train()
    outs = model(torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(1)))
    assert [float(o.sum()) for o in outs] == pytest.approx(MMDET[name]["sums"], rel=1e-5)
    assert [float(o.abs().max()) for o in outs] == pytest.approx(MMDET[name]["absmax"], rel=1e-5)
    keys = model.state_dict()
    assert "layer1.0.context_block.conv_mask.weight" not in keys
    if name == "gcb":
        assert "layer2.0.context_block.channel_add_conv.1.weight" in keys
    else:
        assert {"layer1.0.context_block2.conv_mask.weight", "layer3.0.gen_attention_block.key_conv.weight"} <= set(keys)


@pytest.mark.parametrize(
    "cfg, match",
    [
        (dict(type="ResNet", depth=18, plugins=[GCB]), "bottlenecks only"),
        (dict(type="Res2Net", depth=50, plugins=[GCB]), "bottlenecks only"),
        (dict(type="ResNet", depth=50, plugins=[dict(GCB, position="after_conv4")]), "position"),
        (dict(type="ResNet", depth=50, plugins=[dict(GCB, stages=(True, True))]), "need 4 entries"),
        (dict(type="ResNet", depth=50, plugins=[GCB, GCB]), "postfix"),
    ],
)
def test_bad_plugins_are_refused_by_name(cfg, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(dict(cfg, init_cfg=None))
