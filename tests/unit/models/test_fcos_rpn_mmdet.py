"""FCOS as the proposal network (``FCOSHead``, ``configs/fcos_rpn``) against MMDetection 3.3.0:
its ``faster-rcnn_r50_fpn_fcos-rpn_1x_coco.py`` loads our state dict key for key, and on the same
weights and images the head's losses (focal, centerness-weighted IoU, centerness), the training
proposals and the test proposals equal its own; with centre sampling, and with ``norm_on_bbox``
and ``centerness_on_reg``. ResNet-18 variant."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample

from helpers import REPO

# measured with MMDetection 3.3.0 on the same weights and inputs
MMDET = {'centre_sampling': {'losses': {'loss_cls': 2.2281606197357178,
                                'loss_bbox': 6.9568305015563965,
                                'loss_centerness': 0.705661952495575},
                     'n': [427, 427],
                     'top': [[99.0013, 34.9878, 101.0019, 36.994],
                             [67.0009, 114.9886, 69.0029, 116.9979],
                             [123.001, 58.9877, 125.0032, 60.9937]],
                     'scores': [0.26792293787002563, 0.2673463821411133, 0.26715874671936035],
                     'test_n': [427, 427],
                     'test_top': [[67.001, 66.988, 69.003, 68.994],
                                  [75.0012, 66.9893, 77.0033, 68.9944],
                                  [59.0018, 74.9885, 61.002, 76.9948]],
                     'test_scores': [0.2700634002685547, 0.26931294798851013, 0.26869872212409973]},
 'norm_on_bbox': {'losses': {'loss_cls': 0.37233972549438477,
                             'loss_bbox': 13.81230640411377,
                             'loss_centerness': 0.6921481490135193},
                  'n': [400, 404],
                  'top': [[119.9995, 104.0, 120.0, 104.0026],
                          [60.0, 107.9868, 60.0018, 108.0],
                          [140.0, 59.9875, 140.0021, 60.0]],
                  'scores': [0.2821783721446991, 0.27748700976371765, 0.27614960074424744],
                  'test_n': [401, 404],
                  'test_top': [[119.9786, 104.0, 120.0, 104.0266],
                               [140.0, 107.901, 140.0117, 108.0],
                               [156.0, 51.952, 156.0269, 52.0]],
                  'test_scores': [0.2792147397994995, 0.27649468183517456, 0.27573490142822266]}}  # fmt: skip
OPTIONS = {
    "centre_sampling": dict(center_sampling=True),
    "norm_on_bbox": dict(norm_on_bbox=True, centerness_on_reg=True),
}


def _model(name: str, variant: str):
    cfg = Config.fromfile(os.path.join(REPO, "configs", "fcos_rpn", f"{name}.py"))
    cfg.model.backbone.update(init_cfg=None, depth=18)
    cfg.model.neck.in_channels = [64, 128, 256, 512]
    cfg.model.rpn_head.update(OPTIONS[variant])
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    model.init_weights()
    for p in model.rpn_head.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return cfg, model


def _samples():
    meta = dict(img_shape=(128, 160), pad_shape=(128, 160), batch_input_shape=(128, 160), ori_shape=(128, 160))
    boxes = torch.tensor([[10.0, 12.0, 60.0, 70.0], [70.0, 20.0, 150.0, 110.0], [30.0, 80.0, 90.0, 125.0]])
    samples = []
    for i in range(2):
        sample = DetDataSample(metainfo=dict(meta, scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(bboxes=boxes + 4 * i, labels=torch.tensor([0, 0, 0]))
        samples.append(sample)
    return samples


@pytest.mark.parametrize("variant", sorted(MMDET))
def test_fcos_proposals_match_mmdetection(variant):
    expected = MMDET[variant]
    cfg, model = _model("faster_rcnn_r50_fpn_fcos_rpn_1x_coco", variant)
    image = torch.randn(2, 3, 128, 160, generator=torch.Generator().manual_seed(0))
    samples = _samples()
    model.train()
    losses, proposals = model.rpn_head.loss_and_predict(
        model.extract_feat(image), samples, cfg.model.train_cfg.rpn_proposal
    )
    assert {k: float(v) for k, v in losses.items()} == pytest.approx(expected["losses"], rel=1e-5)
    assert [len(p.bboxes) for p in proposals] == expected["n"]
    assert proposals[0].bboxes[:3].flatten().tolist() == pytest.approx(sum(expected["top"], []), abs=2e-4)
    assert proposals[0].scores[:3].tolist() == pytest.approx(expected["scores"], rel=1e-5)
    model.eval()
    with torch.no_grad():
        tested = model.rpn_head.predict(model.extract_feat(image), samples)
    assert [len(p.bboxes) for p in tested] == expected["test_n"]
    assert tested[1].bboxes[:3].flatten().tolist() == pytest.approx(sum(expected["test_top"], []), abs=2e-4)
    assert tested[1].scores[:3].tolist() == pytest.approx(expected["test_scores"], rel=1e-5)


def test_cascade_with_fcos_proposals_trains():
    """The proposal head's losses are renamed ``rpn_loss_*`` (MMDetection's names), beside
    every cascade stage's; the head sees every object as class 0 whatever its label."""
    _, model = _model("cascade_rcnn_r50_fpn_fcos_rpn_1x_coco", "centre_sampling")
    samples = _samples()
    samples[0].gt_instances.labels = torch.tensor([3, 17, 5])
    losses = model.loss(torch.randn(2, 3, 128, 160), samples)
    assert {"rpn_loss_cls", "rpn_loss_bbox", "rpn_loss_centerness", "s2.loss_bbox"} <= set(losses)
    assert all(torch.isfinite(v).all() for v in losses.values())
    assert samples[0].gt_instances.labels.tolist() == [3, 17, 5]
