"""RegNet, Res2Net, ResNeSt, HRNet (HRFPN), Swin, ConvNeXt, the ResNet / ResNeXt with deformable
convs (DCN, DCNv2) and the PAFPN neck as MMDetection 3.3.0 builds them: state-dict size, trainable
parameters after freezing, feature shapes and sums of |feature| per stage, measured from
MMDetection 3.3.0 (mmcv 2.1.0's deformable conv kernel; mmpretrain 1.2.0 for ConvNeXt) with the
same weights (tests/helpers/seeded.py) and input; and the checkpoint keys that MMDetection's
published checkpoints of these rows carry."""

import pytest
import torch

from mmcascade.models.backbones.resnet import BasicBlock, Bottleneck
from mmcascade.registry import MODELS

from helpers.seeded import seeded_state

BN = dict(type="BN", requires_grad=True)
DCN_STAGES = (False, True, True, True)


def _hrnet(blocks: tuple[int, int, int, int], widths: tuple[int, ...], modules: tuple[int, int] = (4, 3)) -> dict:
    """An HRNet ``extra``: stage 1 of bottlenecks, stages 2-4 of basic blocks with 2, 3, 4 branches."""
    stages = dict(
        stage1=dict(
            num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(blocks[0],), num_channels=(widths[0],)
        )
    )
    for k, n in ((2, 2), (3, 3), (4, 4)):
        num_modules = 1 if k == 2 else modules[k - 3]
        stages[f"stage{k}"] = dict(
            num_modules=num_modules,
            num_branches=n,
            block="BASIC",
            num_blocks=(blocks[k - 1],) * n,
            num_channels=widths[1 : n + 1],
        )
    return stages


HRNET_W18 = _hrnet((4, 4, 4, 4), (64, 18, 36, 72, 144))  # MMDetection's HRNetV2p-W18
HRNET_SMALL = _hrnet((1, 1, 1, 1), (16, 8, 16, 32, 64), modules=(2, 2))
HRNET_SMALL["stage3"]["num_blocks"] = (1, 2, 1)  # branches of different depths
CASES = [
    # name, config, input size, train mode, keys, trainable, shapes, sums (MMDetection 3.3.0)
    ("regnetx_3.2gf", dict(type="RegNet", arch="regnetx_3.2gf", frozen_stages=1, norm_cfg=BN), (64, 64), False,
     480, 216, [(96, 16, 16), (192, 8, 8), (432, 4, 4), (1008, 2, 2)], [11518.84, 8617.078, 19602.809, 8450.242]),
    ("regnetx_400mf dilated", dict(type="RegNet", arch="regnetx_400mf", out_indices=(1, 2, 3), strides=(2, 2, 2, 1),
     dilations=(1, 1, 1, 2)), (64, 64), False, 426, 213, [(64, 8, 8), (160, 4, 4), (384, 4, 4)],
     [1301.603, 1511.401, 6158.612]),
    ("res2net101", dict(type="Res2Net", depth=101, scales=4, base_width=26, frozen_stages=1), (64, 64), False,
     1032, 459, [(256, 16, 16), (512, 8, 8), (1024, 4, 4), (2048, 2, 2)],
     [28615.238, 23315.004, 317297.062, 139632.219]),
    ("res2net50 14w-8s", dict(type="Res2Net", depth=50, scales=8, base_width=14, base_channels=16, stem_channels=16),
     (64, 64), False, 906, 453, [(64, 16, 16), (128, 8, 8), (256, 4, 4), (512, 2, 2)],
     [11151.37, 12408.607, 10800.269, 5537.145]),
    ("resnest50", dict(type="ResNeSt", stem_channels=64, depth=50, radix=2, reduction_factor=4, avg_down_stride=True,
     frozen_stages=1, norm_cfg=BN, norm_eval=False), (64, 64), False, 474, 204,
     [(256, 16, 16), (512, 8, 8), (1024, 4, 4), (2048, 2, 2)], [34270.754, 19014.422, 12121.198, 4704.861]),
    ("resnest small, strided attention", dict(type="ResNeSt", stem_channels=16, base_channels=16, depth=50,
     avg_down_stride=False), (64, 64), True, 474, 261, [(64, 16, 16), (128, 8, 8), (256, 4, 4), (512, 2, 2)],
     [9094.051, 4551.793, 2784.557, 1170.29]),
    ("r50 DCN", dict(type="ResNet", depth=50, base_channels=16, dcn=dict(type="DCN", deform_groups=1,
     fallback_on_stride=False), stage_with_dcn=DCN_STAGES), (128, 128), False, 344, 185,
     [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)], [81612.766, 44255.172, 31761.229, 12369.089]),
    ("r50 DCNv2 4 groups", dict(type="ResNet", depth=50, base_channels=16, dcn=dict(type="DCNv2", deform_groups=4,
     fallback_on_stride=False), stage_with_dcn=DCN_STAGES), (128, 128), False, 344, 185,
     [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)], [81612.766, 34872.328, 14747.583, 5587.661]),
    ("x50-4x4d DCN", dict(type="ResNeXt", depth=50, groups=4, base_width=4, base_channels=16, dcn=dict(type="DCN",
     deform_groups=1, fallback_on_stride=False), stage_with_dcn=DCN_STAGES), (128, 128), False, 344, 185,
     [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)], [59464.547, 39507.672, 29521.342, 12694.7]),
    ("hrnetv2 w18", dict(type="HRNet", extra=HRNET_W18), (64, 64), False, 1830, 915,
     [(18, 16, 16), (36, 8, 8), (72, 4, 4), (144, 2, 2)], [4148108.75, 1866449.875, 1025228.188, 295436.156]),
    ("hrnet small, one output", dict(type="HRNet", multiscale_output=False, extra=HRNET_SMALL), (64, 64), True,
     480, 240, [(8, 16, 16)], [6715.964]),
    ("swin-t", dict(type="SwinTransformer", embed_dims=96, depths=(2, 2, 6, 2), num_heads=(3, 6, 12, 24), window_size=7,
     drop_path_rate=0.2, convert_weights=True), (64, 64), False, 189, 177,
     [(96, 16, 16), (192, 8, 8), (384, 4, 4), (768, 2, 2)], [19547.467, 10027.978, 4926.129, 2446.737]),
    ("swin small, padded windows", dict(type="SwinTransformer", embed_dims=32, depths=(2, 2, 2, 2),
     num_heads=(1, 2, 4, 8)), (96, 80), False, 133, 125, [(32, 24, 20), (64, 12, 10), (128, 6, 5), (256, 3, 3)],
     [12789.626, 6140.404, 3180.54, 1861.774]),
    ("swin frozen, absolute positions", dict(type="SwinTransformer", embed_dims=32, depths=(2, 2, 2, 2),
     num_heads=(1, 2, 4, 8), window_size=4, out_indices=(1, 3), frozen_stages=2, use_abs_pos_embed=True,
     pretrain_img_size=64, qk_scale=0.5, qkv_bias=False), (64, 64), True, 122, 53, [(64, 8, 8), (256, 2, 2)],
     [3234.102, 823.828]),
    # mmpretrain 1.2.0's ConvNeXt, under the name MMDetection's configs use
    ("convnext-t", dict(type="mmpretrain.ConvNeXt", arch="tiny", out_indices=(0, 1, 2, 3), drop_path_rate=0.4,
     layer_scale_init_value=1.0, gap_before_final_norm=False), (64, 64), False, 186, 186,
     [(96, 16, 16), (192, 8, 8), (384, 4, 4), (768, 2, 2)], [19860.531, 9765.085, 4947.523, 2450.994]),
    ("convnext GRN, conv pointwise, frozen", dict(type="ConvNeXt",
     arch=dict(depths=(1, 1, 2, 1), channels=(16, 32, 48, 64)), out_indices=(1, 3), frozen_stages=2,
     linear_pw_conv=False, use_grn=True, layer_scale_init_value=0.0, gap_before_final_norm=False),
     (64, 96), True, 70, 42, [(32, 8, 12), (64, 2, 3)], [2505.769, 318.792]),
    ("convnext pooled", dict(type="ConvNeXt", arch=dict(depths=(1, 1, 1, 1), channels=(8, 16, 24, 32))), (64, 64),
     False, 54, 54, [(32,)], [26.601]),
]  # fmt: skip


@pytest.mark.parametrize("name, cfg, size, train, num_keys, trainable, shapes, sums", CASES, ids=[c[0] for c in CASES])
def test_features_as_mmdet(name, cfg, size, train, num_keys, trainable, shapes, sums):
    torch.manual_seed(0)  # in train mode Swin's stochastic depth draws as MMDetection's did from this seed
    model = MODELS.build(cfg)
    state = seeded_state(model)
    model.train(train)
    assert len(state) == num_keys and sum(p.requires_grad for p in model.parameters()) == trainable
    with torch.no_grad():
        feats = model(torch.randn(1, 3, *size, generator=torch.Generator().manual_seed(1)))
    assert [tuple(f.shape[1:]) for f in feats] == shapes
    assert [float(f.abs().sum()) for f in feats] == pytest.approx(sums, rel=1e-4)


@pytest.mark.parametrize(
    "options, sums",
    [
        (dict(out_channels=32), [29898.896, 6592.993, 1455.676, 303.094, 46.844]),
        (dict(out_channels=16, num_outs=4, pooling_type="MAX", stride=2), [3455.969, 875.555, 326.818, 83.739]),
    ],
)
def test_hrfpn_as_mmdet(options, sums):
    neck = MODELS.build(dict(type="HRFPN", in_channels=[18, 36, 72, 144], **options))
    state = seeded_state(neck)
    assert len(state) == 2 + 2 * len(sums) and state["reduction_conv.conv.weight"].shape[1] == 270
    g = torch.Generator().manual_seed(1)
    feats = [torch.randn(1, c, 32 // 2**i, 48 // 2**i, generator=g) for i, c in enumerate([18, 36, 72, 144])]
    with torch.no_grad():
        outs = neck(feats)
    assert [float(o.abs().sum()) for o in outs] == pytest.approx(sums, rel=1e-5)
    with pytest.raises(ValueError, match="norm_cfg=.*MMDetection accepts and ignores it"):
        MODELS.build(dict(type="HRFPN", in_channels=[18, 36], out_channels=8, norm_cfg=dict(type="BN")))


@pytest.mark.parametrize(
    "options, num_keys, sums",
    [
        (dict(num_outs=5), 28, [40087.898, 12332.111, 3110.519, 766.061, 198.082]),
        (dict(num_outs=5, start_level=1, add_extra_convs="on_input"), 24, [8229.339, 2613.009, 567.33, 68.06, 15.134]),
        (dict(num_outs=6, add_extra_convs="on_output", relu_before_extra_convs=True,
              norm_cfg=dict(type="GN", num_groups=4)), 48, [19943.623, 4915.531, 1195.592, 285.782, 73.363, 25.6]),
    ],
)  # fmt: skip
def test_pafpn_as_mmdet(options, num_keys, sums):
    neck = MODELS.build(dict(type="PAFPN", in_channels=[8, 16, 24, 32], out_channels=16, **options))
    assert len(seeded_state(neck)) == num_keys and "downsample_convs.0.conv.weight" in neck.state_dict()
    g = torch.Generator().manual_seed(1)
    feats = [torch.randn(1, c, 32 // 2**i, 48 // 2**i, generator=g) for i, c in enumerate([8, 16, 24, 32])]
    with torch.no_grad():
        outs = neck(feats)
    assert [float(o.abs().sum()) for o in outs] == pytest.approx(sums, rel=1e-5)


def _shapes(cfg: dict) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in MODELS.build(cfg).state_dict().items()}


def test_published_checkpoint_layouts():
    """Keys and shapes of MMDetection's RegNetX-3.2GF, Res2Net-101, ResNeSt-50 and R-50-DCN / DCNv2
    checkpoints (backbone part), as their configs build them."""
    regnet = _shapes(dict(type="RegNet", arch="regnetx_3.2gf"))
    assert regnet["conv1.weight"] == (32, 3, 3, 3) and regnet["layer4.0.conv2.weight"] == (1008, 48, 3, 3)
    assert regnet["layer1.0.downsample.0.weight"] == (96, 32, 1, 1) and "layer4.1.conv1.weight" in regnet
    res2net = _shapes(dict(type="Res2Net", depth=101))
    assert res2net["stem.6.weight"] == (64, 32, 3, 3) and res2net["layer1.0.convs.2.weight"] == (26, 26, 3, 3)
    assert res2net["layer3.22.bns.2.running_var"] == (104,) and res2net["layer1.0.downsample.1.weight"] == (
        256,
        64,
        1,
        1,
    )
    resnest = _shapes(dict(type="ResNeSt", depth=50, stem_channels=64))
    assert resnest["layer2.0.conv2.conv.weight"] == (256, 64, 3, 3) and resnest["layer2.0.conv2.fc1.weight"] == (
        64,
        128,
        1,
        1,
    )
    assert resnest["layer4.2.conv2.bn0.weight"] == (1024,) and "layer2.0.bn2.weight" not in resnest
    for kind, offsets in (("DCN", 18), ("DCNv2", 27)):
        r50 = _shapes(dict(type="ResNet", depth=50, dcn=dict(type=kind, deform_groups=1), stage_with_dcn=DCN_STAGES))
        assert (
            r50["layer2.0.conv2.conv_offset.weight"] == (offsets, 128, 3, 3)
            and "layer1.0.conv2.conv_offset.bias" not in r50
        )
        assert ("layer3.5.conv2.bias" in r50) is False  # MMDetection builds the 3x3 conv without bias


def test_refused_by_name():
    with pytest.raises(ValueError, match="position=one of"):  # a plugin without its place in the block
        MODELS.build(dict(type="ResNet", depth=50, plugins=[dict(cfg=dict(type="ContextBlock"), stages=DCN_STAGES)]))
    with pytest.raises(ValueError, match="BasicBlock"):
        MODELS.build(dict(type="ResNet", depth=18, dcn=dict(type="DCN"), stage_with_dcn=DCN_STAGES))
    with pytest.raises(KeyError, match="unknown arch 'regnetx_5gf'"):
        MODELS.build(dict(type="RegNet", arch="regnetx_5gf"))
    with pytest.raises(ValueError, match="wm > 1"):
        MODELS.build(dict(type="RegNet", arch=dict(w0=24, wa=24.48, wm=1.0, group_w=16, depth=22)))


def test_hrnet_zero_init_residual_zeroes_each_blocks_last_norm():
    """Where MMDetection 3.3.0 accepts ``zero_init_residual=True`` and zeroes nothing, every
    block's last norm starts at zero (the option's meaning, as in ResNet)."""
    model = MODELS.build(dict(type="HRNet", extra=HRNET_SMALL, zero_init_residual=True))
    model.init_weights()
    blocks = [m for m in model.modules() if isinstance(m, (BasicBlock, Bottleneck))]
    last = [getattr(m, getattr(m, "norm3_name", None) or m.norm2_name) for m in blocks]
    assert len(last) == 19 and all(float(n.weight.abs().sum()) == 0 for n in last)  # 1 + 2 + 2 x 4 + 2 x 4 blocks


def test_convnext_outputs_are_contiguous_maps():
    """Its LayerNorm works on a channels-last view; the maps it hands on are contiguous NCHW again,
    as mmpretrain's: a permuted map would make the next convolution (the downsampling conv, the
    FPN's lateral convs) pick another kernel, and the detector's results differ from MMDetection's
    in the last bits (gradients by 4e-4 relative in the ConvNeXt cascade row)."""
    model = MODELS.build(dict(type="ConvNeXt", arch=dict(depths=[1, 1, 1, 1], channels=[8, 16, 32, 64])))
    outs = model(torch.randn(1, 3, 64, 64))
    assert all(o.is_contiguous() for o in outs)
    norm = model.downsample_layers[1][0]
    assert norm(torch.randn(1, 8, 6, 6)).is_contiguous()


def test_hrnet_fuses_branches_in_mmdetections_order():
    """Each fused branch is the sum over the branches in their order, the branch's own map at its
    place (0 + x0 + f(x1) ... as MMDetection), bit for bit: another order rounds differently."""
    extra = dict(
        stage1=dict(num_modules=1, num_branches=1, block="BOTTLENECK", num_blocks=(1,), num_channels=(8,)),
        stage2=dict(num_modules=1, num_branches=2, block="BASIC", num_blocks=(1, 1), num_channels=(4, 8)),
        stage3=dict(num_modules=1, num_branches=3, block="BASIC", num_blocks=(1, 1, 1), num_channels=(4, 8, 16)),
        stage4=dict(num_modules=1, num_branches=4, block="BASIC", num_blocks=(1, 1, 1, 1), num_channels=(4, 8, 16, 32)),
    )
    model = MODELS.build(dict(type="HRNet", extra=extra))
    seeded_state(model)
    module = model.stage4[0]
    xs = [
        torch.randn(1, c, 32 // 2**i, 32 // 2**i, generator=torch.Generator().manual_seed(i))
        for i, c in enumerate((4, 8, 16, 32))
    ]
    with torch.no_grad():
        got = module(xs)
        branched = [branch(x) for branch, x in zip(module.branches, xs)]
        for i, row in enumerate(module.fuse_layers):
            y = 0
            for j, fuse in enumerate(row):
                y = y + (branched[j] if j == i else fuse(branched[j]))
            assert torch.equal(got[i], torch.relu(y)), i
