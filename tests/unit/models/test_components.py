"""Backbone, neck, RoI extractor, mask structures and the data preprocessor."""

import numpy as np
import pytest
import torch

from mmcascade.models import FPN, DetDataPreprocessor, ResNet, ResNeXt
from mmcascade.models.roi_heads.roi_extractors import SingleRoIExtractor, map_roi_levels
from mmcascade.structures import BitmapMasks, DetDataSample, paste_masks


@pytest.mark.parametrize("depth, channels", [(18, [64, 128, 256, 512]), (50, [256, 512, 1024, 2048])])
def test_resnet_output_shapes(depth, channels):
    net = ResNet(depth=depth, init_cfg=None).eval()
    outs = net(torch.zeros(1, 3, 64, 96))
    assert [o.shape[1] for o in outs] == channels
    assert [tuple(o.shape[2:]) for o in outs] == [(16, 24), (8, 12), (4, 6), (2, 3)]


def test_resnet_styles_place_the_stride():
    pt = ResNet(depth=50, style="pytorch", init_cfg=None)
    caffe = ResNet(depth=50, style="caffe", init_cfg=None)
    assert pt.layer2[0].conv1.stride == (1, 1) and pt.layer2[0].conv2.stride == (2, 2)
    assert caffe.layer2[0].conv1.stride == (2, 2) and caffe.layer2[0].conv2.stride == (1, 1)


def test_frozen_stages_and_norm_eval():
    net = ResNet(depth=18, frozen_stages=1, norm_eval=True, init_cfg=None)
    net.train()
    assert not net.conv1.weight.requires_grad and not net.layer1[0].conv1.weight.requires_grad
    assert net.layer2[0].conv1.weight.requires_grad
    assert not net.bn1.training and not net.layer3[0].bn1.training
    free = ResNet(depth=18, frozen_stages=-1, norm_eval=False, init_cfg=None).train()
    assert free.layer3[0].bn1.training


def test_group_norm_and_resnext_widths():
    gn = ResNet(depth=18, base_channels=16, norm_cfg=dict(type="GN", num_groups=4), init_cfg=None)
    assert isinstance(gn.gn1, torch.nn.GroupNorm) and len(gn(torch.zeros(1, 3, 32, 32))) == 4
    for groups, width, expect in [(32, 4, 128), (64, 4, 256), (32, 8, 256)]:
        net = ResNeXt(depth=50, groups=groups, base_width=width, init_cfg=None)
        conv = net.layer1[0].conv2
        assert conv.out_channels == expect and conv.groups == groups
    with pytest.raises(KeyError):
        ResNet(depth=42)


def test_init_from_local_checkpoint(tmp_path):
    src = ResNet(depth=18, init_cfg=None)
    torch.save(src.state_dict(), tmp_path / "r18.pth")
    dst = ResNet(depth=18, init_cfg=dict(type="Pretrained", checkpoint=str(tmp_path / "r18.pth")))
    dst.init_weights()
    assert torch.equal(dst.layer4[1].conv2.weight, src.layer4[1].conv2.weight)


def test_fpn_levels():
    fpn = FPN(in_channels=[8, 16, 32, 64], out_channels=12, num_outs=5)
    feats = [torch.zeros(1, c, 32 // 2**i, 48 // 2**i) for i, c in enumerate([8, 16, 32, 64])]
    outs = fpn(feats)
    assert [tuple(o.shape) for o in outs] == [
        (1, 12, 32, 48),
        (1, 12, 16, 24),
        (1, 12, 8, 12),
        (1, 12, 4, 6),
        (1, 12, 2, 3),
    ]
    assert list(dict(fpn.named_parameters())) == [
        f"{kind}.{i}.conv.{p}" for kind in ("lateral_convs", "fpn_convs") for i in range(4) for p in ("weight", "bias")
    ]


def test_roi_level_mapping_boundaries():
    sides = torch.tensor([32.0, 111.9, 112.0, 223.9, 224.0, 447.9, 448.0, 2000.0])
    rois = torch.stack([torch.zeros(8), torch.zeros(8), torch.zeros(8), sides, sides], dim=1)
    assert map_roi_levels(rois, 4).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]


def test_roi_extractor_pools_and_keeps_every_level_in_the_graph():
    ext = SingleRoIExtractor(dict(type="RoIAlign", output_size=7, sampling_ratio=0), 4, [4, 8, 16, 32])
    feats = [torch.ones(1, 4, 64 // 2**i, 64 // 2**i, requires_grad=True) for i in range(4)]
    out = ext(feats, torch.tensor([[0.0, 0.0, 0.0, 50.0, 50.0]]))
    assert out.shape == (1, 4, 7, 7) and torch.allclose(out, torch.ones_like(out))
    out.sum().backward()
    assert all(f.grad is not None for f in feats)  # levels without RoIs get zero gradients, not None
    assert ext(feats, torch.zeros((0, 5))).shape == (0, 4, 7, 7)


def test_roi_extractor_reads_channels_last_features_as_nchw():
    """NHWC features give the same pooling as NCHW ones, and the same as mmcv's kernel level by level."""
    ext = SingleRoIExtractor(dict(type="RoIAlign", output_size=7, sampling_ratio=0), 8, [4, 8, 16, 32])
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(1, 8, 64 // 2**i, 96 // 2**i, generator=g) for i in range(4)]
    rois = torch.tensor([[0.0, 3.0, 5.0, 40.0, 30.0], [0.0, 10.0, 8.0, 300.0, 250.0]])
    nhwc = [f.contiguous(memory_format=torch.channels_last) for f in feats]
    assert not nhwc[0].is_contiguous()
    pooled = ext(feats, rois)
    torch.testing.assert_close(ext(nhwc, rois), pooled, rtol=0, atol=1e-6)
    from mmcascade.ops import mmcv_ops

    if mmcv_ops() is None:
        pytest.skip("the comparison with mmcv's kernel needs mmcv built with compiled ops")
    for row, level in enumerate(map_roi_levels(rois, 4).tolist()):  # levels 0 and 2: rows from two calls
        direct = mmcv_ops().roi_align(feats[level], rois[row : row + 1], (7, 7), 1 / 4 / 2**level, 0, "avg", True)
        torch.testing.assert_close(pooled[row : row + 1], direct, rtol=0, atol=1e-5)


def test_mask_targets_and_paste():
    m = np.zeros((1, 40, 40), np.uint8)
    m[0, 10:30, 10:30] = 1
    masks = BitmapMasks(m, 40, 40)
    targets = masks.crop_and_resize(
        torch.tensor([[10.0, 10.0, 30.0, 30.0], [0.0, 0.0, 20.0, 20.0]]), 28, torch.tensor([0, 0])
    )
    assert targets.shape == (2, 28, 28) and targets[0].mean() == 1.0
    assert targets[1][:13, :13].sum() == 0 and targets[1][15:, 15:].mean() == 1.0
    pasted = paste_masks(torch.ones(1, 28, 28), torch.tensor([[10.0, 10.0, 30.0, 30.0]]), (40, 40))
    assert pasted.dtype == torch.bool and pasted[0].sum() == 400 and pasted[0, 10:30, 10:30].all()
    assert masks.flip().flip().masks.tobytes() == m.tobytes()


def test_data_preprocessor_bgr_to_rgb_and_pad():
    pre = DetDataPreprocessor(
        mean=[1.0, 2.0, 3.0], std=[1.0, 1.0, 1.0], bgr_to_rgb=True, pad_size_divisor=32, pad_mask=True
    )
    img = torch.zeros(3, 50, 70, dtype=torch.uint8)
    img[0] = 10  # blue in BGR
    s = DetDataSample(metainfo=dict(img_shape=(50, 70)))
    from mmengine.structures import InstanceData

    s.gt_instances = InstanceData(
        bboxes=torch.zeros(1, 4),
        labels=torch.zeros(1, dtype=torch.long),
        masks=BitmapMasks(np.ones((1, 50, 70), np.uint8), 50, 70),
    )
    out = pre(dict(inputs=[img], data_samples=[s]), training=True)
    x = out["inputs"]
    assert tuple(x.shape) == (1, 3, 64, 96)
    assert x[0, 2, 0, 0].item() == 10 - 3 and x[0, 0, 0, 0].item() == -1
    assert x[0, :, 60, 90].abs().sum() == 0  # padding is zero after normalisation
    assert out["data_samples"][0].batch_input_shape == (64, 96)
    assert out["data_samples"][0].gt_instances.masks.masks.shape == (1, 64, 96)


def test_malloc_mmap_threshold_is_settable_on_glibc():
    from mmcascade.utils.memory import set_malloc_mmap_threshold

    assert set_malloc_mmap_threshold(1 << 20) is True


@pytest.mark.parametrize("with_cp", [True, (False, True, False, False)])
def test_resnet_activation_checkpointing_gives_the_same_gradients(with_cp):
    from mmcascade.registry import MODELS

    cfgs = [dict(type="ResNet", depth=50, base_channels=8, frozen_stages=1, with_cp=cp) for cp in (False, with_cp)]
    plain, ckpt = (MODELS.build(c).train() for c in cfgs)
    expected = (True,) * 4 if with_cp is True else with_cp
    assert tuple(all(b.with_cp for b in getattr(ckpt, f"layer{i}")) for i in range(1, 5)) == expected
    assert ckpt.with_cp and not plain.with_cp
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    losses = [sum(o.square().mean() for o in m(x)) for m in (plain, ckpt)]
    for loss in losses:
        loss.backward()
    assert float(losses[0]) == float(losses[1])
    for (name, a), (_, b) in zip(plain.named_parameters(), ckpt.named_parameters()):
        if a.grad is not None:
            torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=1e-7, msg=name)


def test_resnet_rejects_unknown_options():
    from mmcascade.registry import MODELS

    with pytest.raises(TypeError, match="with_cpp"):
        MODELS.build(dict(type="ResNet", depth=50, with_cpp=True))
    with pytest.raises(ValueError, match="one per stage"):
        MODELS.build(dict(type="ResNet", depth=50, with_cp=(True, False)))


def test_heads_refuse_options_they_do_not_implement():
    """MMDetection's defaults spelled out are fine; a typo or another value is an error."""
    from mmcascade.registry import MODELS, TASK_UTILS

    head = dict(type="Shared2FCBBoxHead", in_channels=8, fc_out_channels=16, roi_feat_size=7, num_classes=3)
    assert MODELS.build(dict(head, with_avg_pool=False, reg_predictor_cfg=dict(type="Linear"))).fc_cls.out_features == 4
    with pytest.raises(TypeError, match="Shared2FCBBoxHead got an unknown option 'fc_out_channel'"):
        MODELS.build(dict(head, fc_out_channel=32))
    assert MODELS.build(dict(head, with_avg_pool=True)).shared_fcs[0].in_features == 8  # pooled to 1 x 1
    with pytest.raises(TypeError, match="FPN got an unknown option 'add_extra_conv'"):
        MODELS.build(dict(type="FPN", in_channels=[8, 16], out_channels=8, num_outs=3, add_extra_conv="on_input"))
    with pytest.raises(TypeError, match="RandomSampler got an unknown option 'pos_fractoin'"):
        TASK_UTILS.build(dict(type="RandomSampler", num=8, pos_fraction=0.25, pos_fractoin=0.5))
    upsample = dict(type="deconv", scale_factor=2)
    assert (
        MODELS.build(
            dict(
                type="FCNMaskHead",
                num_convs=1,
                in_channels=8,
                conv_out_channels=8,
                num_classes=3,
                upsample_cfg=upsample,
            )
        ).conv_logits.out_channels
        == 3
    )
