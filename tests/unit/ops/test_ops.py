"""mmcascade's torch RoIAlign and NMS against mmcv's compiled kernels, and how the implementation is chosen.

``MMCASCADE_TEST_DEVICE=cuda`` runs the torch implementations on that device (scripts/device_check.py
does), still against mmcv's CPU kernels.
"""

import itertools
import logging
import os

import pytest
import torch

from mmcascade.models.roi_heads.roi_extractors.single_level_roi_extractor import SingleRoIExtractor
from mmcascade.ops import CompiledOpsMissingError, RoIAlign, batched_nms, nms, nms_torch, roi_align_torch
from mmcascade.ops import backend as ops_backend
from mmcascade.ops.nms import check_nms_cfg

mmcv_ops = ops_backend.mmcv_ops()
needs_mmcv = pytest.mark.skipif(mmcv_ops is None, reason="the comparison needs mmcv built with compiled ops")

DEVICE = os.environ.get("MMCASCADE_TEST_DEVICE", "cpu")
STRIDE = 4
FEAT_HW = (24, 36)  # feature cells; the image is 96 x 144 pixels


def _roi_cases(batch: int) -> torch.Tensor:
    """``(K, 5)`` RoIs in image pixels: inside, on the border, beyond it, sub-pixel, whole image."""
    h, w = FEAT_HW[0] * STRIDE, FEAT_HW[1] * STRIDE
    g = torch.Generator().manual_seed(batch)
    xy = torch.rand(40, 2, generator=g) * torch.tensor([w, h]) * 1.2 - 10
    wh = torch.rand(40, 2, generator=g) * torch.tensor([w, h]) * 0.6
    rows = [
        torch.cat([xy, xy + wh], 1),
        torch.tensor(
            [
                [0.0, 0.0, w, h],
                [0.0, 0.0, w - 1, h - 1],  # whole image
                [-30.0, -20.0, w + 25, h + 40],  # beyond every border
                [w - 3.0, h - 2.0, w + 30, h + 30],  # straddling the far corner
                [w + 5.0, h + 5.0, w + 60, h + 50],  # entirely outside
                [10.3, 7.1, 10.6, 7.4],
                [20.0, 20.0, 20.0, 20.0],  # sub-pixel and empty
                [0.0, 5.0, 3.0, h],
                [-4.0, -4.0, 0.0, 0.0],
            ]
        ),
    ]  # on the left edge / corner
    boxes = torch.cat(rows)
    idx = torch.randint(0, batch, (boxes.shape[0], 1), generator=g).float()
    return torch.cat([idx, boxes], 1)


CASES = list(itertools.product((True, False), (0, 2), (7, 14), (1, 3), ("nchw", "channels_last")))


@needs_mmcv
@pytest.mark.parametrize("aligned,sampling_ratio,out,batch,layout", CASES)
def test_roi_align_equals_mmcv_forward_and_backward(aligned, sampling_ratio, out, batch, layout):
    g = torch.Generator().manual_seed(out + batch)
    feat = torch.randn(batch, 16, *FEAT_HW, generator=g)
    if layout == "channels_last":
        feat = feat.contiguous(memory_format=torch.channels_last)
    rois = _roi_cases(batch)
    ours_in, ref_in = feat.detach().to(DEVICE).requires_grad_(), feat.detach().contiguous().requires_grad_()
    ours = roi_align_torch(ours_in, rois.to(DEVICE), out, 1 / STRIDE, sampling_ratio, "avg", aligned)
    ref = mmcv_ops.roi_align(ref_in, rois, (out, out), 1 / STRIDE, sampling_ratio, "avg", aligned)
    assert ours.shape == ref.shape == (rois.shape[0], 16, out, out)
    assert (ours.detach().cpu() - ref).abs().max().item() <= 1e-5
    upstream = torch.randn(ref.shape, generator=g)
    (ours * upstream.to(DEVICE)).sum().backward()
    (ref * upstream).sum().backward()
    assert (ours_in.grad.cpu() - ref_in.grad).abs().max().item() <= 1e-4


@needs_mmcv
@pytest.mark.parametrize("aligned", [True, False])
def test_roi_align_max_mode_and_one_channel_masks_equal_mmcv(aligned):
    g = torch.Generator().manual_seed(3)
    feat = torch.randn(3, 2, *FEAT_HW, generator=g, requires_grad=True)  # few channels: the per-RoI matmul path
    ref_in = feat.detach().clone().requires_grad_()
    rois = _roi_cases(3)
    for mode in ("max", "avg"):
        ours = roi_align_torch(feat, rois, 7, 1 / STRIDE, 0, mode, aligned)
        ref = mmcv_ops.roi_align(ref_in, rois, (7, 7), 1 / STRIDE, 0, mode, aligned)
        assert (ours - ref).abs().max().item() <= 1e-5, mode
        upstream = torch.randn(ref.shape, generator=g)
        feat.grad = ref_in.grad = None
        (ours * upstream).sum().backward()
        (ref * upstream).sum().backward()
        assert (feat.grad - ref_in.grad).abs().max().item() <= 1e-4, mode
    # Mask targets: one full-resolution mask per RoI, 28x28, with grids of up to 12x12 samples per bin.
    masks = (torch.rand(4, 1, 96, 144, generator=g) > 0.5).float()
    boxes = torch.tensor(
        [[0, 3.0, 4.0, 140.0, 90.0], [1, 50.0, 10.0, 70.0, 95.0], [2, 0, 0, 144, 96], [3, 100.5, 20.2, 101.5, 80.9]]
    )
    torch.testing.assert_close(
        roi_align_torch(masks, boxes, 28, 1.0, 0, "avg", True),
        mmcv_ops.roi_align(masks, boxes, (28, 28), 1.0, 0, "avg", True),
        rtol=0,
        atol=1e-5,
    )


def test_roi_align_hand_computed_values_and_empty_set():
    """A 4x4 ramp ``f(y, x) = 10 y + x``: bilinear sampling of a linear map is exact, so each
    bin's average is the ramp at the bin centre (aligned: RoI shifted by half a cell)."""
    ramp = (torch.arange(4.0)[:, None] * 10 + torch.arange(4.0)[None, :])[None, None].to(DEVICE)
    rois = torch.tensor([[0.0, 1.0, 1.0, 3.0, 3.0]], device=DEVICE)  # pixels 1..3 -> cells 0.5..2.5 when aligned
    out = roi_align_torch(ramp, rois, 2, 1.0, 2, "avg", True)
    # bin centres at y, x in {1.0, 2.0}
    assert out.flatten().tolist() == pytest.approx([11.0, 12.0, 21.0, 22.0])
    out = roi_align_torch(ramp, rois, 2, 1.0, 2, "avg", False)  # not aligned: cells 1..3, centres 1.5, 2.5
    assert out.flatten().tolist() == pytest.approx([16.5, 17.5, 26.5, 27.5])
    feat = torch.randn(2, 5, 8, 8, device=DEVICE, requires_grad=True)
    empty = roi_align_torch(feat, torch.zeros((0, 5), device=DEVICE), 7, 0.5, 0, "avg", True)
    assert empty.shape == (0, 5, 7, 7)
    empty.sum().backward()
    assert feat.grad is not None and not feat.grad.any()


def test_roi_align_runs_in_bfloat16_close_to_float32():
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(1, 32, *FEAT_HW, generator=g)
    rois = _roi_cases(1)
    full = roi_align_torch(feat, rois, 7, 1 / STRIDE)
    half = roi_align_torch(feat.bfloat16(), rois, 7, 1 / STRIDE)
    assert half.dtype == torch.bfloat16
    assert (half.float() - full).abs().max().item() < 0.05


def test_roi_align_layer_options_are_checked():
    with pytest.raises(ValueError, match="use_torchvision"):
        RoIAlign(7, use_torchvision=True)
    with pytest.raises(ValueError, match="pool_mode='median'"):
        RoIAlign(7, pool_mode="median")
    with pytest.raises(ValueError, match="impl='cuda'"):
        RoIAlign(7, impl="cuda")
    with pytest.raises(ValueError, match="roi_layer type='RoIAlgn'"):
        SingleRoIExtractor(dict(type="RoIAlgn", output_size=7), 8, [4])


def _nms_inputs(n: int, seed: int, classes: int = 4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 300
    boxes = torch.cat([xy, xy + torch.rand(n, 2, generator=g) * 80 + 0.5], 1)
    scores = torch.rand(n, generator=g).round(decimals=2)  # many ties: the tie order must match too
    return boxes, scores, torch.randint(0, classes, (n,), generator=g)


@needs_mmcv
@pytest.mark.parametrize("n", [1, 7, 300, 2500])
def test_nms_equals_mmcv(n):
    boxes, scores, labels = _nms_inputs(n, n)
    for thr, offset in ((0.5, 0), (0.7, 0), (0.3, 1)):
        ref_dets, ref_keep = mmcv_ops.nms(boxes, scores, thr, offset)
        dets, keep = nms(boxes.to(DEVICE), scores.to(DEVICE), thr, offset, impl="torch")
        assert torch.equal(keep.cpu(), ref_keep) and torch.equal(dets.cpu(), ref_dets)
    cfgs = [
        dict(type="nms", iou_threshold=0.6),
        dict(type="nms", iou_threshold=0.5, class_agnostic=True),
        dict(type="nms", iou_threshold=0.5, max_num=20),
        dict(type="nms", iou_threshold=0.5, split_thr=100),
        dict(type="nms", iou_threshold=0.5, split_thr=100, max_num=10),
        dict(type="nms", iou_threshold=0.4, score_threshold=0.3),
    ]
    for cfg in cfgs:
        ref_dets, ref_keep = mmcv_ops.batched_nms(boxes, scores, labels, dict(cfg))
        dets, keep = batched_nms(boxes.to(DEVICE), scores.to(DEVICE), labels.to(DEVICE), dict(cfg, impl="torch"))
        assert torch.equal(keep.cpu(), ref_keep), cfg
        assert torch.equal(dets.cpu(), ref_dets), cfg


def test_nms_hand_computed():
    boxes = torch.tensor(
        [[0.0, 0.0, 10.0, 10.0], [1.0, 0.0, 11.0, 10.0], [20.0, 20.0, 30.0, 30.0], [0.0, 0.0, 10.0, 5.0]], device=DEVICE
    )
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6], device=DEVICE)
    # IoU(0, 1) = 90 / 110 = 0.818; IoU(0, 3) = 50 / 100 = 0.5 (not above 0.5: kept).
    assert nms_torch(boxes, scores, 0.5).tolist() == [0, 2, 3]
    assert nms_torch(boxes, scores, 0.49).tolist() == [0, 2]
    assert nms_torch(boxes, scores, 0.9).tolist() == [0, 1, 2, 3]
    # Same boxes in two classes: nothing suppressed across classes.
    dets, keep = batched_nms(
        boxes, scores, torch.tensor([0, 1, 0, 1], device=DEVICE), dict(type="nms", iou_threshold=0.5)
    )
    assert keep.tolist() == [0, 1, 2, 3]
    assert (
        batched_nms(
            boxes[:0], scores[:0], torch.zeros(0, dtype=torch.long, device=DEVICE), dict(type="nms", iou_threshold=0.5)
        )[1].numel()
        == 0
    )


def test_nms_options_are_checked():
    with pytest.raises(ValueError, match="impl='fast'"):
        check_nms_cfg("test_cfg.rcnn", dict(type="nms", iou_threshold=0.5, impl="fast"))
    with pytest.raises(ValueError, match="soft_nms"):
        check_nms_cfg("test_cfg.rcnn", dict(type="soft_nms", iou_threshold=0.5, impl="torch"))
    boxes, scores, labels = _nms_inputs(10, 0)
    with pytest.raises(TypeError, match="sigma"):
        batched_nms(boxes, scores, labels, dict(type="nms", iou_threshold=0.5, sigma=0.5, impl="torch"))


def test_auto_picks_torch_on_cpu_and_mmcv_only_when_compiled(monkeypatch):
    monkeypatch.setattr(ops_backend, "mmcv_has_ops_for", lambda device_type: device_type == "cpu")
    assert ops_backend.resolve_impl("auto", "cpu", "RoIAlign") == "torch"  # multi-threaded, NHWC
    assert ops_backend.resolve_impl("auto", "cpu", "nms") == "mmcv"  # mmcv's kernel is faster there
    assert ops_backend.resolve_impl("torch", "cpu", "RoIAlign") == "torch"
    assert ops_backend.resolve_impl("mmcv", "cpu", "RoIAlign") == "mmcv"
    with pytest.raises(CompiledOpsMissingError, match="impl='mmcv' needs mmcv built with compiled ops for 'cuda'"):
        ops_backend.resolve_impl("mmcv", "cuda", "RoIAlign")
    # A GPU without mmcv's CUDA kernels: the torch implementation, and one warning line.
    ops_backend._warn_missing.cache_clear()
    logged = []
    monkeypatch.setattr(ops_backend, "print_log", lambda msg, logger, level: logged.append((msg, level)))
    assert ops_backend.resolve_impl("auto", "cuda", "nms") == "torch"
    assert ops_backend.resolve_impl("auto", "cuda", "RoIAlign") == "torch"
    # no warning for the CPU: mmcascade's ops run there by default (RoIAlign) or keep the same boxes (NMS)
    monkeypatch.setattr(ops_backend, "mmcv_has_ops_for", lambda device_type: False)
    assert ops_backend.resolve_impl("auto", "cpu", "nms") == "torch"
    assert len(logged) == 1 and logged[0][1] == logging.WARNING and "\n" not in logged[0][0]
    assert logged[0][0].endswith("mmcascade runs its torch RoIAlign and NMS")
    monkeypatch.setattr(ops_backend, "mmcv_has_ops_for", lambda device_type: True)
    assert ops_backend.resolve_impl("auto", "cuda", "nms") == "mmcv"
