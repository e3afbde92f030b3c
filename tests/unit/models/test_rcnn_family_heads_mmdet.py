"""The C4 heads (``ResLayer`` shared head, ``BBoxHead(with_avg_pool)``, the mask head on the box
features), Double-Head, Dynamic R-CNN and GRoIE (``GenericRoIExtractor``) against MMDetection
3.3.0: its own configs of these models load our checkpoints key for key (``strict=True``), and on
the same weights, features and proposals
the RoI head's training losses (Dynamic R-CNN: over three iterations, with the IoU threshold and
SmoothL1 beta it sets after two) and its detections (and C4 masks) equal MMDetection's. ResNet-18
variants of ``configs/c4``, ``configs/double_heads``, ``configs/dynamic_rcnn`` and ``configs/groie``
(the ResNet plugins of GRoIE's GCNet configs: ``test_resnet_plugins_mmdet.py``)."""

import os

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmcascade.registry import MODELS
from mmcascade.structures import BitmapMasks, DetDataSample

from helpers import REPO

CONFIGS = {
    "faster_c4": "c4/faster_rcnn_r50_caffe_c4_1x_coco",
    "mask_c4": "c4/mask_rcnn_r50_caffe_c4_1x_coco",
    "double_head": "double_heads/dh_faster_rcnn_r50_fpn_1x_coco",
    "dynamic": "dynamic_rcnn/dynamic_rcnn_r50_fpn_1x_coco",
    "groie": "groie/faster_rcnn_r50_fpn_groie_1x_coco",
}
# measured with MMDetection 3.3.0 (its configs of the same models, our state dicts loaded)
MMDET = {'faster_c4': {'loss': {'loss_cls': 4.379090309143066, 'acc': 0.0, 'loss_bbox': 0.8596893548965454},
               'n': 100,
               'bboxes': [[131.0437, 0.3523, 150.9443, 7.265],
                          [1.0231, 84.3112, 13.3605, 124.516],
                          [71.015, 9.924, 102.2815, 26.8153]],
               'scores': [0.014995903708040714, 0.01497422531247139, 0.014963824301958084],
               'labels': [66, 66, 66]},
 'mask_c4': {'loss': {'loss_cls': 4.320014476776123,
                      'acc': 0.0,
                      'loss_bbox': 0.8676157593727112,
                      'loss_mask': 0.6896345615386963},
             'n': 100,
             'bboxes': [[72.9721, 22.0485, 83.7331, 36.8777],
                        [64.7756, 28.8091, 79.4927, 44.0536],
                        [35.4863, 44.7978, 58.1108, 57.3637]],
             'scores': [0.015058626420795918, 0.015055948868393898, 0.015055854804813862],
             'labels': [58, 58, 58],
             'mask_sums': [130, 210, 252, 286, 357]},
 'double_head': {'loss': {'loss_cls': 16.20138931274414, 'acc': 0.0, 'loss_bbox': 0.8176645040512085},
                 'n': 100,
                 'bboxes': [[2.988, 44.5596, 31.9556, 65.7873],
                            [108.4106, 107.8685, 153.3694, 128.0],
                            [31.7286, 87.3389, 104.2465, 117.2007]],
                 'scores': [0.8204800486564636, 0.7947960495948792, 0.7931453585624695],
                 'labels': [74, 29, 74]},
 'dynamic': {'loss': {'loss_cls': 9.671706199645996, 'acc': 0.0, 'loss_bbox': 4.027178764343262},
             'n': 100,
             'bboxes': [[112.8087, 21.7628, 159.0812, 42.6439],
                        [60.5109, 50.5806, 114.2655, 68.6296],
                        [128.0365, 38.2783, 150.1723, 41.722]],
             'scores': [0.9164555072784424, 0.9121646285057068, 0.9038107991218567],
             'labels': [74, 74, 74],
             'loss1': {'loss_cls': 9.671706199645996, 'acc': 0.0, 'loss_bbox': 4.027178764343262},
             'loss2': {'loss_cls': 10.209793090820312, 'acc': 0.0, 'loss_bbox': 1.612154483795166},
             'thr': [0.7836726009845734, 0.7836726009845734, 0.7836726009845734, 0.19839370250701904]},
 'groie': {'loss': {'loss_cls': 42.472354888916016, 'acc': 0.0, 'loss_bbox': 22.44951820373535},
           'n': 100,
           'bboxes': [[4.2848, 0.0, 23.2364, 128.0], [86.9536, 0.0, 88.4112, 128.0], [0.0, 0.0, 0.0, 128.0]],
           'scores': [0.9999949932098389, 0.999990701675415, 0.9999868869781494],
           'labels': [30, 30, 30]}}  # fmt: skip


def _small(cfg: Config) -> Config:
    m = cfg.model
    m.backbone.update(init_cfg=None, depth=18)
    if m.get("neck"):
        m.neck.in_channels = [64, 128, 256, 512]
    else:  # C4: res4 has 256 channels, the shared res5 512
        m.rpn_head.in_channels = m.rpn_head.feat_channels = 256
        m.roi_head.shared_head.depth = 18
        m.roi_head.bbox_roi_extractor.out_channels = 256
        m.roi_head.bbox_head.in_channels = 512
        if m.roi_head.get("mask_head"):
            m.roi_head.mask_head.in_channels = 512
    m.test_cfg.rcnn.score_thr = 0.005
    if "dynamic_rcnn" in m.train_cfg.rcnn:
        m.train_cfg.rcnn.dynamic_rcnn.update(update_iter_interval=2, iou_topk=20, beta_topk=10)
    return cfg


def _inputs():
    g = torch.Generator().manual_seed(0)
    image = torch.randn(2, 3, 128, 160, generator=g)
    gts = torch.tensor([[10.0, 12.0, 60.0, 70.0], [70.0, 20.0, 150.0, 110.0], [30.0, 80.0, 90.0, 125.0]])
    samples, proposals = [], []
    for i in range(2):
        near = [b + torch.randn(4, generator=g) * 6 for b in gts for _ in range(20)]
        xy = torch.rand(100, 2, generator=g) * torch.tensor([140.0, 110.0])
        wh = torch.rand(100, 2, generator=g) * 40 + 5
        p = torch.cat([torch.stack(near), torch.cat([xy, xy + wh], 1)])
        p[:, 0::2] = p[:, 0::2].clamp(0, 160)
        p[:, 1::2] = p[:, 1::2].clamp(0, 128)
        meta = dict(img_shape=(128, 160), pad_shape=(128, 160), batch_input_shape=(128, 160), ori_shape=(128, 160))
        sample = DetDataSample(metainfo=dict(meta, scale_factor=(1.0, 1.0)))
        masks = torch.zeros(3, 128, 160, dtype=torch.uint8)
        for j, b in enumerate((gts + i * 3).long()):
            masks[j, b[1] : b[3], b[0] + 5 : b[2]] = 1
        sample.gt_instances = InstanceData(
            bboxes=gts + i * 3, labels=torch.tensor([3, 17, 3]), masks=BitmapMasks(masks.numpy(), 128, 160)
        )
        samples.append(sample)
        proposals.append(InstanceData(bboxes=p))
    return image, samples, proposals


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_roi_head_losses_and_detections_match_mmdetection(name):
    expected = MMDET[name]
    cfg = _small(Config.fromfile(os.path.join(REPO, "configs", f"{CONFIGS[name]}.py")))
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    model.init_weights()
    for p in model.roi_head.parameters():
        torch.nn.init.normal_(p, std=0.05)
    image, samples, proposals = _inputs()
    model.train()
    feats = model.roi_feature_layout(model.extract_feat(image))
    for it, key in enumerate(("loss", "loss1", "loss2") if name == "dynamic" else ("loss",)):
        torch.manual_seed(3 + it)
        losses = model.roi_head.loss(feats, proposals, samples)
        assert {k: float(v) for k, v in losses.items()} == pytest.approx(expected[key], rel=1e-5), key
    if name == "dynamic":
        assigner = model.roi_head.bbox_assigner  # MMDetection's attribute
        got = [
            assigner.pos_iou_thr,
            assigner.neg_iou_thr,
            assigner.min_pos_iou,
            model.roi_head.bbox_head.loss_bbox.beta,
        ]
        assert got == pytest.approx(expected["thr"], rel=1e-6)
    model.eval()
    with torch.no_grad():
        dets = model.roi_head.predict(model.roi_feature_layout(model.extract_feat(image)), proposals, samples, False)
    det = dets[0]
    assert len(det.bboxes) == expected["n"]
    assert det.bboxes[:3].flatten().tolist() == pytest.approx(sum(expected["bboxes"], []), abs=2e-4)
    assert det.scores[:3].tolist() == pytest.approx(expected["scores"], rel=1e-5)
    assert det.labels[:3].tolist() == expected["labels"]
    if "mask_sums" in expected:
        assert det.masks.flatten(1).sum(1)[:5].tolist() == expected["mask_sums"]
