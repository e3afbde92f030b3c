"""FPN's extra levels and level ranges, and the 2-conv RPN, as MMDetection 3.3.0 builds them: ``add_extra_convs``
(every mode), ``relu_before_extra_convs``, ``start_level`` / ``end_level``, ``upsample_cfg``. The
numbers (sum of |output| per level, state-dict size) were measured from MMDetection 3.3.0 with the
same weights (every parameter drawn in key order from one seeded generator) and inputs."""

import pytest
import torch

from mmcascade.registry import MODELS


@pytest.mark.parametrize(
    "options, sums, num_keys",
    [
        (dict(num_outs=5, add_extra_convs="on_input"), [38534.1445, 9023.4346, 2186.5085, 370.2244, 106.5363], 18),
        (dict(num_outs=5, start_level=1, add_extra_convs=True), [9786.5332, 2083.1602, 370.2516, 84.6127, 47.2034], 16),
        (
            dict(num_outs=6, add_extra_convs="on_lateral", relu_before_extra_convs=True),
            [34229.918, 7857.1929, 1951.8596, 329.6424, 76.5218, 29.576],
            20,
        ),
        (
            dict(num_outs=5, start_level=1, add_extra_convs="on_output"),
            [7496.5332, 1635.9502, 265.5268, 142.2725, 61.9865],
            16,
        ),
        (dict(num_outs=2, start_level=1, end_level=2), [6192.3154, 1236.5437], 8),
        (
            dict(num_outs=5, upsample_cfg=dict(mode="bilinear", scale_factor=2)),
            [22431.7871, 5354.5059, 1421.3545, 336.5581, 97.7241],
            16,
        ),
    ],
)
def test_fpn_options_as_mmdet(options, sums, num_keys):
    fpn = MODELS.build(dict(type="FPN", in_channels=[4, 8, 16, 32], out_channels=8, **options))
    fpn.init_weights()
    fpn.eval()
    g = torch.Generator().manual_seed(0)
    fpn.load_state_dict({k: torch.randn(v.shape, generator=g) * 0.3 for k, v in sorted(fpn.state_dict().items())})
    assert len(fpn.state_dict()) == num_keys
    gi = torch.Generator().manual_seed(1)
    with torch.no_grad():
        outs = fpn([torch.randn(1, c, s, s, generator=gi) for c, s in ((4, 32), (8, 16), (16, 8), (32, 4))])
    assert [float(o.abs().sum()) for o in outs] == pytest.approx(sums, rel=1e-5)


def test_fpn_refuses_what_it_cannot_build():
    with pytest.raises(ValueError, match="add_extra_convs must be"):
        MODELS.build(dict(type="FPN", in_channels=[4, 8], out_channels=8, num_outs=3, add_extra_convs="on_top"))
    with pytest.raises(ValueError, match="needs num_outs=2"):
        MODELS.build(dict(type="FPN", in_channels=[4, 8, 16], out_channels=8, num_outs=3, start_level=0, end_level=1))


def test_two_conv_rpn_as_mmdet():
    """RPNHead(num_convs=2): MMDetection 3.3.0's keys, and its sums of |objectness| and |deltas|
    per level with the same weights and inputs."""
    rpn = MODELS.build(
        dict(
            type="RPNHead",
            in_channels=8,
            feat_channels=8,
            num_convs=2,
            anchor_generator=dict(type="AnchorGenerator", scales=[8], ratios=[0.5, 1.0, 2.0], strides=[4, 8]),
        )
    )
    rpn.init_weights()
    rpn.eval()
    g = torch.Generator().manual_seed(0)
    rpn.load_state_dict({k: torch.randn(v.shape, generator=g) * 0.3 for k, v in sorted(rpn.state_dict().items())})
    assert sorted(rpn.state_dict()) == [
        "rpn_cls.bias",
        "rpn_cls.weight",
        "rpn_conv.0.conv.bias",
        "rpn_conv.0.conv.weight",
        "rpn_conv.1.conv.bias",
        "rpn_conv.1.conv.weight",
        "rpn_reg.bias",
        "rpn_reg.weight",
    ]
    gi = torch.Generator().manual_seed(1)
    with torch.no_grad():
        cls, reg = rpn([torch.randn(1, 8, 8, 8, generator=gi), torch.randn(1, 8, 4, 4, generator=gi)])
    assert [float(c.abs().sum()) for c in cls] == pytest.approx([241.442, 37.3134], rel=1e-5)
    assert [float(r.abs().sum()) for r in reg] == pytest.approx([1104.9839, 155.6167], rel=1e-5)
