"""RPN training targets on hand-built cases: which anchors take part (image border, padding),
what they are assigned, and the loss normaliser. Anchors here are 32x32 squares (stride 16,
scale 2, ratio 1) centred at multiples of 16 on a 64x64 image: a 4x4 grid."""

import pytest
import torch
from mmengine.structures import InstanceData

from mmcascade.models.task_modules.prior_generators import AnchorGenerator, anchor_inside_flags
from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample

GEN = dict(type="AnchorGenerator", strides=[16], ratios=[1.0], scales=[2])


def _anchors():
    gen = AnchorGenerator(strides=[16], ratios=[1.0], scales=[2])
    return gen, gen.grid_priors([(4, 4)])[0]


def test_anchor_grid_is_as_drawn():
    _, anchors = _anchors()
    assert anchors.shape == (16, 4)
    assert anchors[0].tolist() == [-16, -16, 16, 16] and anchors[5].tolist() == [0, 0, 32, 32]
    assert anchors[15].tolist() == [32, 32, 64, 64]


@pytest.mark.parametrize(
    "allowed_border, img_shape, expected",
    [
        (0, (64, 64), 4),  # centres 16 and 32 on each axis: x1 >= 0 and x2 < 64
        (-1, (64, 64), 16),  # no border rule
        (16, (64, 64), 16),  # 16 px of slack admits every anchor
        (0, (48, 64), 2),  # a shorter image: only the row of centre 16 fits (y2 < 48)
        (8, (64, 64), 9),  # 8 px: x1 >= -8 and x2 < 72 admit centres 16, 32 and 48
    ],
)
def test_inside_anchor_counts(allowed_border, img_shape, expected):
    gen, anchors = _anchors()
    valid = gen.valid_flags([(4, 4)], (64, 64))[0]
    assert int(anchor_inside_flags(anchors, valid, img_shape, allowed_border).sum()) == expected


def test_valid_flags_follow_the_padded_input():
    gen, _ = _anchors()
    # a 4x4 feature map over a padded input of 40x64: rows beyond ceil(40 / 16) = 3 are not valid
    valid = gen.valid_flags([(4, 4)], (40, 64))[0].reshape(4, 4)
    assert valid.sum() == 12 and not valid[3].any() and valid[:3].all()


def _rpn(allowed_border: float):
    return MODELS.build(
        dict(
            type="RPNHead",
            in_channels=4,
            feat_channels=4,
            anchor_generator=GEN,
            bbox_coder=dict(type="DeltaXYWHBBoxCoder", target_means=[0.0] * 4, target_stds=[1.0] * 4),
            loss_cls=dict(type="CrossEntropyLoss", use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type="SmoothL1Loss", beta=1.0 / 9.0, loss_weight=1.0),
            train_cfg=dict(
                assigner=dict(
                    type="MaxIoUAssigner",
                    pos_iou_thr=0.7,
                    neg_iou_thr=0.3,
                    min_pos_iou=0.3,
                    match_low_quality=True,
                    ignore_iof_thr=-1,
                ),
                sampler=dict(type="RandomSampler", num=256, pos_fraction=0.5, neg_pos_ub=-1, add_gt_as_proposals=False),
                allowed_border=allowed_border,
                pos_weight=-1,
                debug=False,
            ),
        )
    )


def _sample():
    s = DetDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64), batch_input_shape=(64, 64)))
    s.gt_instances = InstanceData(bboxes=torch.tensor([[0.0, 0.0, 32.0, 32.0]]), labels=torch.tensor([3]))
    return s


@pytest.mark.parametrize(
    "allowed_border, pos, neg",
    [
        # inside: centres (16,16) IoU 1 -> positive; (32,16), (16,32) IoU 1/3 -> ignored; (32,32) IoU 1/7 -> negative
        (0, 1, 1),
        # all 16: 1 positive, 4 at IoU 1/3 ignored, 4 at 1/7 and 7 at 0 negative
        (-1, 1, 11),
    ],
)
def test_targets_counts_and_avg_factor(allowed_border, pos, neg):
    rpn = _rpn(allowed_border)
    _, anchors = _anchors()
    s = _sample()
    labels, label_w, targets, target_w, avg_factor = rpn._targets_single(
        anchors, [(4, 4)], s.gt_instances, s.metainfo, None
    )
    assert avg_factor == pos + neg
    assert int((label_w > 0).sum()) == pos + neg and int(((labels == 0) & (label_w > 0)).sum()) == pos
    assert labels[5] == 0 and label_w[5] == 1 and target_w[5].tolist() == [1, 1, 1, 1]
    assert targets[5].tolist() == [0, 0, 0, 0]  # the gt is exactly anchor 5
    assert int((target_w.sum(1) > 0).sum()) == pos


def test_losses_are_normalised_by_the_sampled_anchors():
    rpn = _rpn(0)
    for p in rpn.parameters():
        torch.nn.init.zeros_(p)  # zero logits and deltas: every sampled anchor costs log 2 in BCE
    feats = (torch.zeros(2, 4, 4, 4),)
    losses = rpn.loss(feats, [_sample(), _sample()])
    assert losses["loss_rpn_cls"].item() == pytest.approx(torch.log(torch.tensor(2.0)).item(), rel=1e-6)
    assert losses["loss_rpn_bbox"].item() == 0.0  # the positive's target deltas are zero too


def test_rpn_train_cfg_refuses_unknown_keys():
    with pytest.raises(TypeError, match=r"got an unknown key 'allowed_boarder'; did you mean 'allowed_b"):
        MODELS.build(
            dict(
                type="RPNHead",
                in_channels=4,
                anchor_generator=GEN,
                train_cfg=dict(
                    assigner=dict(type="MaxIoUAssigner", pos_iou_thr=0.7, neg_iou_thr=0.3),
                    sampler=dict(type="RandomSampler", num=256, pos_fraction=0.5),
                    allowed_boarder=0,
                ),
            )
        )


def test_no_anchor_inside_is_a_clear_error():
    rpn = _rpn(0)
    s = _sample()
    s.set_metainfo(dict(img_shape=(20, 20), img_path="tiny.png"))
    _, anchors = _anchors()
    with pytest.raises(ValueError, match="tiny.png: no anchor lies inside the image"):
        rpn._targets_single(anchors, [(4, 4)], s.gt_instances, s.metainfo, None)
