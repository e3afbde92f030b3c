"""MMDetection 3.3.0's own configs of the R-CNN family folders, read from its wheel with only the
registry scope changed and the pretrained-backbone download switched off: every one builds here
(RPN, Fast / Faster / Mask R-CNN with C4, FPN, PAFPN, Libra, GRoIE, Double-Head, Dynamic R-CNN,
FCOS proposals, LVIS, Cityscapes, Pascal VOC), except the single-stage and Grid R-CNN configs
those folders also hold, which are refused by name before any work. The new heads' configs then
train a step and predict."""

import glob
import os.path as osp

import pytest
import torch
from mmengine.structures import InstanceData

from mmcascade.config.checks import OTHER_FAMILIES, UnknownTypeError
from mmcascade.config.loading import check_run_config, load_tool_config
from mmcascade.registry import MODELS
from mmcascade.structures import BitmapMasks, DetDataSample

pytestmark = pytest.mark.e2e

FOLDERS = (
    "rpn", "fast_rcnn", "faster_rcnn", "mask_rcnn", "libra_rcnn", "groie", "pafpn", "double_heads", "dynamic_rcnn",
    "lvis", "cityscapes", "pascal_voc",
)  # fmt: skip
# configs of other detector families in those folders
REFUSED = {
    "libra_rcnn/libra-retinanet_r50_fpn_1x_coco.py": "RetinaNet",
    "groie/grid-rcnn_r50_fpn_gn-head-groie_1x_coco.py": "GridRCNN",
    "pascal_voc/retinanet_r50_fpn_1x_voc0712.py": "RetinaNet",
    "pascal_voc/ssd300_voc0712.py": "SingleStageDetector",
    "pascal_voc/ssd512_voc0712.py": "SingleStageDetector",
}
OPTIONS = {"default_scope": "mmcascade", "model.backbone.init_cfg": None}


def _load(mmdet_configs: str, config: str):
    cfg = load_tool_config(osp.join(mmdet_configs, config), OPTIONS)
    shared_head = cfg.model.get("roi_head", {}).get("shared_head")
    if shared_head:  # C4's shared res5 starts from the same download
        shared_head.init_cfg = None
    check_run_config(cfg)
    return cfg


def test_every_config_builds_or_is_refused_by_name(mmdet_configs):
    configs = sorted(
        osp.relpath(p, mmdet_configs) for f in FOLDERS for p in glob.glob(osp.join(mmdet_configs, f, "*.py"))
    )
    assert len(configs) == 116
    failures = []
    for config in configs:
        try:
            MODELS.build(_load(mmdet_configs, config).model)
        except UnknownTypeError as exc:
            name = REFUSED.get(config)
            if name is None or f"{name} is {OTHER_FAMILIES[name]}" not in str(exc):
                failures.append(f"{config}: {exc}")
        else:
            if config in REFUSED:
                failures.append(f"{config}: built, expected a refusal")
    assert not failures, "\n".join(failures)


STEP = [
    "faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py",
    "mask_rcnn/mask-rcnn_r50-caffe-c4_1x_coco.py",
    "double_heads/dh-faster-rcnn_r50_fpn_1x_coco.py",
    "dynamic_rcnn/dynamic-rcnn_r50_fpn_1x_coco.py",
    "groie/faste-rcnn_r50_fpn_groie_1x_coco.py",
    "faster_rcnn/faster-rcnn_r50_fpn_fcos-rpn_1x_coco.py",
]


def _sample(with_mask: bool) -> DetDataSample:
    shape = (128, 128)
    meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape, batch_input_shape=shape, scale_factor=(1.0, 1.0))
    sample = DetDataSample(metainfo=meta)
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[30.0, 20.0, 100.0, 90.0]]), labels=torch.tensor([3]))
    if with_mask:
        masks = torch.zeros(1, *shape, dtype=torch.uint8)
        masks[0, 20:90, 30:100] = 1
        sample.gt_instances.masks = BitmapMasks(masks.numpy(), *shape)
    return sample


@pytest.mark.parametrize("config", STEP, ids=[c.split("/")[1][:-3] for c in STEP])
def test_new_family_configs_train_a_step_and_predict(mmdet_configs, config):
    cfg = _load(mmdet_configs, config)
    cfg.model.test_cfg.rpn.max_per_img = 100  # a quick prediction
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    model.init_weights()
    model.train()
    image = torch.randn(1, 3, 128, 128)
    losses = model.loss(image, [_sample(model.with_mask)])
    total = sum(v for k, v in losses.items() if "loss" in k)
    assert torch.isfinite(total)
    total.backward()
    model.eval()
    with torch.no_grad():
        det = model.predict(image, [_sample(model.with_mask)])[0].pred_instances
    assert det.bboxes.shape[1] == 4 and len(det.bboxes) <= 100
