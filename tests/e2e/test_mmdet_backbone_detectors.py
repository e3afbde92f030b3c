"""Whole detectors on the other backbones against MMDetection 3.3.0: its own config files of the
Cascade Mask R-CNN ConvNeXt-T, Mask R-CNN Swin-T, Cascade Mask R-CNN HRNetV2p-W32, ResNeSt-50 and
RegNetX-3.2GF, Cascade R-CNN Res2Net-101 and Cascade Mask R-CNN R-50-DCN rows (read from its wheel,
only the registry scope changed), built here with the same seeded weights, predict on the same
image and compute losses and gradients on the same batch.

MMDetection's outputs were measured once with MMDetection 3.3.0 / mmcv 2.1.0 / torch 2.13 CPU and
are pinned in ``tests/data/mmdet_backbone_detectors.json.gz``: every detection (box, score, label,
mask pixel count), every loss term, and per parameter the gradient's norm and its projection on
``linspace(-1, 1)``. Random weights give no class a score above 0.05, so ``score_thr`` is 0 on both
sides (the 100 best detections); every sampler takes all candidates (nothing random).

- With mmcv's compiled ops the toolbox's two CPU speed choices can be switched off (RoIAlign
  ``impl='mmcv'``, and autograd left on while predicting so that BatchNorm is not folded into the
  convolutions): the detections are then MMDetection's to the last bit, losses within 1e-6 and
  gradients within 1e-4 (relative).
- As users run it (mmcascade's vectorised RoIAlign, folded BatchNorm; without mmcv's ops its NMS
  too) the same detections and labels, boxes within the float rounding those choices amplify
  through random weights (the ResNet rows: 0.004 px; HRNet's calibrated features: 0.11 px).
"""

import gzip
import json
import os.path as osp

import pytest
import torch
from mmengine.model import revert_sync_batchnorm
from mmengine.structures import InstanceData

from mmcascade.config.loading import read_config
from mmcascade.ops import mmcv_has_ops_for
from mmcascade.registry import MODELS
from mmcascade.structures import BitmapMasks, DetDataSample

from helpers import DATA
from helpers.seeded import calibrate_norms, seeded_state

pytestmark = pytest.mark.e2e

with gzip.open(osp.join(DATA, "mmdet_backbone_detectors.json.gz"), "rt") as _f:
    PINNED = json.load(_f)
H, W = 320, 480
# as users run it: largest box difference (px) measured against MMDetection, with a margin
BOX_TOLERANCE = {"hrnet": 0.2, "res2net": 0.1, "regnet": 0.1}


def _sample(with_gt: bool, with_mask: bool) -> DetDataSample:
    shape = (H, W)
    s = DetDataSample(
        metainfo=dict(
            img_shape=shape, ori_shape=shape, pad_shape=shape, batch_input_shape=shape, scale_factor=(1.0, 1.0)
        )
    )
    if with_gt:
        boxes = torch.tensor([[20.0, 30, 200, 220], [250, 40, 420, 300], [100, 200, 470, 310], [0, 0, 90, 80]])
        s.gt_instances = InstanceData(bboxes=boxes, labels=torch.tensor([0, 5, 17, 62]))
        if with_mask:
            m = torch.zeros((4, H, W), dtype=torch.uint8)
            for k, (x1, y1, x2, y2) in enumerate(boxes.int().tolist()):
                m[k, y1:y2, x1:x2] = 1
                m[k, y1 : (y1 + y2) // 2, x1 : (x1 + x2) // 2] = 0
            s.gt_instances.masks = BitmapMasks(m.numpy(), H, W)
    return s


def _model(path: str, name: str, roi_impl: str):
    cfg = read_config(path)
    m = cfg.model
    m.backbone.init_cfg = None
    m.test_cfg.rcnn.score_thr = 0.0
    m.train_cfg.rpn.sampler.num = 10**9
    m.train_cfg.rpn_proposal.max_per_img = 256  # RoIs per training image: every one is sampled
    for stage in m.train_cfg.rcnn if isinstance(m.train_cfg.rcnn, list) else [m.train_cfg.rcnn]:
        stage.sampler.num = 10**9
    for extractor in ("bbox_roi_extractor", "mask_roi_extractor"):
        if extractor in m.roi_head:
            m.roi_head[extractor].roi_layer.impl = roi_impl
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(m))
    seeded_state(model, 0)
    if name == "hrnet":
        calibrate_norms(model)
    return model, "mask_head" in m.roi_head


def _predict(model, with_mask: bool, fold_norms: bool) -> dict:
    x = torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(2))
    model.eval()
    with torch.set_grad_enabled(not fold_norms):  # BatchNorm is folded only without autograd
        pred = model.predict(x, [_sample(False, with_mask)], rescale=True)[0].pred_instances
    out = dict(bboxes=pred.bboxes.detach(), scores=pred.scores.detach(), labels=pred.labels)
    if with_mask:
        out["mask_pixels"] = pred.masks.flatten(1).sum(1)
    return out


def _losses_and_grads(model, with_mask: bool) -> tuple[dict, dict]:
    x = torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(2))
    x2 = torch.cat([x, torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(3))])
    model.train()
    torch.manual_seed(0)
    raw = model.loss(x2, [_sample(True, with_mask), _sample(True, with_mask)])
    flat = {k: sum(v) if isinstance(v, (list, tuple)) else v for k, v in raw.items()}
    sum(v for k, v in flat.items() if "loss" in k).backward()
    grads = {}
    for k, p in model.named_parameters():
        if p.grad is not None:
            g = p.grad.flatten().double()
            grads[k] = [g.norm().item(), (g @ torch.linspace(-1, 1, g.numel(), dtype=torch.float64)).item()]
    return {k: float(v.detach()) for k, v in flat.items() if "loss" in k}, grads


def _check_training(ref: dict, losses: dict, grads: dict, loss_rtol: float, grad_rtol: float) -> None:
    assert losses == pytest.approx(ref["losses"], rel=loss_rtol)
    assert set(grads) == set(ref["grads"])
    scale = sum(v[0] ** 2 for v in ref["grads"].values()) ** 0.5
    for which in (0, 1):  # the norms and the projections, over all parameters
        diff = sum((grads[k][which] - v[which]) ** 2 for k, v in ref["grads"].items()) ** 0.5
        assert diff / scale < grad_rtol, ("norms", "projections")[which]


def _matched_box_error(ref: dict, got: dict) -> float:
    """Largest box difference after pairing each of MMDetection's detections with the nearest of
    ours of the same label (random weights give ties in score, whose order is float rounding)."""
    ref_boxes, ref_labels = torch.tensor(ref["bboxes"]), torch.tensor(ref["labels"])
    cost = torch.cdist(ref_boxes.double(), got["bboxes"].double(), p=float("inf"))
    cost += (ref_labels[:, None] != got["labels"][None]).double() * 1e9
    taken, worst = set(), 0.0
    for row in cost:
        j = next(int(j) for j in torch.argsort(row) if int(j) not in taken)
        taken.add(j)
        worst = max(worst, float(row[j]))
    return worst


@pytest.mark.parametrize("name", list(PINNED))
def test_detector_as_users_run_it(mmdet_configs, name):
    ref = PINNED[name]
    model, with_mask = _model(osp.join(mmdet_configs, ref["config"]), name, "auto")
    got = _predict(model, with_mask, fold_norms=True)
    assert len(got["bboxes"]) == len(ref["bboxes"]) == 100
    assert sorted(got["labels"].tolist()) == sorted(ref["labels"])
    assert _matched_box_error(ref, got) < BOX_TOLERANCE.get(name, 0.01)
    if not mmcv_has_ops_for("cpu"):  # with mmcv's ops the bit-for-bit test below checks training
        losses, grads = _losses_and_grads(model, with_mask)
        _check_training(ref, losses, grads, loss_rtol=5e-4, grad_rtol=2e-2)


@pytest.mark.skipif(not mmcv_has_ops_for("cpu"), reason="needs mmcv's compiled RoIAlign (an mmcv built with ops)")
@pytest.mark.parametrize("name", list(PINNED))
def test_detector_bit_for_bit_with_mmcv_ops(mmdet_configs, name):
    ref = PINNED[name]
    model, with_mask = _model(osp.join(mmdet_configs, ref["config"]), name, "mmcv")
    got = _predict(model, with_mask, fold_norms=False)
    assert torch.equal(got["bboxes"], torch.tensor(ref["bboxes"]))
    assert torch.equal(got["scores"], torch.tensor(ref["scores"]))
    assert got["labels"].tolist() == ref["labels"]
    if with_mask:
        assert got["mask_pixels"].tolist() == ref["mask_pixels"]
    losses, grads = _losses_and_grads(model, with_mask)
    _check_training(ref, losses, grads, loss_rtol=1e-6, grad_rtol=1e-4)
