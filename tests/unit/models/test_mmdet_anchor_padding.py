"""The anchor generator and the data preprocessor under MMDetection's names behave as MMDetection
3.3.0's: every number below was measured from MMDetection 3.3.0 on the same arguments."""

import math

import pytest
import torch

from mmcascade.registry import MODELS, TASK_UTILS
from mmcascade.structures import DetDataSample

R2 = math.sqrt(2)


def test_anchor_strides_as_width_height_pairs():
    gen = TASK_UTILS.build(dict(type="AnchorGenerator", strides=[(10, 20)], ratios=[0.5, 1.0], scales=[2]))
    assert gen.strides == [(10, 20)]
    # base size min(10, 20) = 10; ratio 0.5 -> w = 10 / sqrt(0.5) * 2, h = 10 * sqrt(0.5) * 2
    base = [[-10 * R2, -5 * R2, 10 * R2, 5 * R2], [-10, -10, 10, 10]]
    assert torch.allclose(gen.base_anchors[0], torch.tensor(base))
    priors = gen.grid_priors([(2, 3)])[0]
    shifts = torch.tensor([[x * 10, y * 20] * 2 for y in range(2) for x in range(3)], dtype=torch.float32)
    assert torch.allclose(priors, (torch.tensor(base)[None] + shifts[:, None]).reshape(-1, 4))
    # pad (35, 25): ceil(35 / 20) = 2 rows and ceil(25 / 10) = 3 columns of the 4 x 4 grid are valid
    valid = gen.valid_flags([(4, 4)], (35, 25))[0].int().tolist()
    assert valid == [1] * 6 + [0] * 2 + [1] * 6 + [0] * 2 + [0] * 16


def test_anchor_octave_scales_and_centers():
    gen = TASK_UTILS.build(
        dict(type="AnchorGenerator", strides=[8, 16], ratios=[1.0], octave_base_scale=4, scales_per_octave=3)
    )
    half = [16.0, 20.158737182617188, 25.39841651916504]
    for level, stride in enumerate((8, 16)):
        expected = torch.tensor([[-h, -h, h, h] for h in half]) * stride / 8
        assert torch.allclose(gen.base_anchors[level], expected)
    gen = TASK_UTILS.build(dict(type="AnchorGenerator", strides=[8], ratios=[1.0], scales=[1], centers=[(3, 5)]))
    assert gen.base_anchors[0].tolist() == [[-1.0, 1.0, 7.0, 9.0]]
    with pytest.raises(ValueError, match="give scales, or octave_base_scale"):
        TASK_UTILS.build(dict(type="AnchorGenerator", strides=[8], ratios=[1.0]))


def _preprocess(shapes, training):
    pre = MODELS.build(dict(type="DetDataPreprocessor", mean=[0, 0, 0], std=[1, 1, 1], pad_size_divisor=32))
    samples = [DetDataSample(metainfo=dict(img_shape=s)) for s in shapes]
    inputs = [torch.zeros(3, *s, dtype=torch.uint8) for s in shapes]
    out = pre(dict(inputs=inputs, data_samples=samples), training=training)
    return [s.pad_shape for s in out["data_samples"]], [s.batch_input_shape for s in out["data_samples"]]


def test_each_sample_keeps_its_own_pad_shape():
    """MMDetection: pad_shape is the image's own size padded to the divisor, batch_input_shape the
    batch's: the RPN's anchors are valid only over the image's own padded area."""
    assert _preprocess([(64, 96), (128, 128)], True) == ([(64, 96), (128, 128)], [(128, 128)] * 2)
    assert _preprocess([(50, 70), (33, 40)], False) == ([(64, 96), (64, 64)], [(64, 96)] * 2)


def test_rpn_anchor_validity_follows_the_own_pad_shape():
    """A 64x96 image batched with a 128x128 one: MMDetection's RPN counts 1536 valid anchors for
    it (all of the 5 levels' cells over 64x96, 3 anchors each), not the batch's 4092."""
    (pad, _), (batch, _) = _preprocess([(64, 96), (128, 128)], True)
    gen = TASK_UTILS.build(dict(type="AnchorGenerator", strides=[4, 8, 16, 32, 64], ratios=[0.5, 1.0, 2.0], scales=[8]))
    sizes = [(math.ceil(128 / s), math.ceil(128 / s)) for s in (4, 8, 16, 32, 64)]
    assert int(torch.cat(gen.valid_flags(sizes, pad)).sum()) == 1536
    assert int(torch.cat(gen.valid_flags(sizes, batch)).sum()) == 4092


def test_batch_fixed_size_pad_and_mask_pad_value():
    """MMDetection 3.3.0 on the same batch: a 40x50 and a 60x70 image (all ones) padded to the
    divisor (64x96) and then to (96, 128) with 7; masks padded with 3 by the preprocessor and 5 by
    the batch augment; nothing of it at test time."""
    import numpy as np
    from mmengine.structures import InstanceData

    from mmcascade.structures import BitmapMasks

    pre = MODELS.build(
        dict(
            type="DetDataPreprocessor",
            mean=[0, 0, 0],
            std=[1, 1, 1],
            pad_size_divisor=32,
            pad_mask=True,
            mask_pad_value=3,
            batch_augments=[
                dict(type="BatchFixedSizePad", size=(96, 128), img_pad_value=7, pad_mask=True, mask_pad_value=5)
            ],
        )
    )
    samples = []
    for h, w in ((40, 50), (60, 70)):
        sample = DetDataSample(metainfo=dict(img_shape=(h, w)))
        masks = BitmapMasks(np.ones((1, h, w), np.uint8), h, w)
        sample.gt_instances = InstanceData(
            bboxes=torch.zeros(1, 4), labels=torch.zeros(1, dtype=torch.long), masks=masks
        )
        samples.append(sample)
    inputs = [torch.ones(3, 40, 50, dtype=torch.uint8), torch.ones(3, 60, 70, dtype=torch.uint8)]
    out = pre(dict(inputs=inputs, data_samples=samples), training=True)
    assert tuple(out["inputs"].shape) == (2, 3, 96, 128) and float(out["inputs"].sum()) == 276648.0
    assert [s.batch_input_shape for s in out["data_samples"]] == [(96, 128)] * 2
    assert [s.pad_shape for s in out["data_samples"]] == [(96, 128)] * 2
    mask = out["data_samples"][0].gt_instances.masks.masks
    assert mask.shape == (1, 96, 128) and (mask == 1).sum() == 2000
    assert (mask == 3).sum() == 64 * 96 - 2000 and (mask == 5).sum() == 96 * 128 - 64 * 96
    test = pre(dict(inputs=inputs[:1], data_samples=[DetDataSample(metainfo=dict(img_shape=(40, 50)))]), training=False)
    assert tuple(test["inputs"].shape) == (1, 3, 64, 64)
