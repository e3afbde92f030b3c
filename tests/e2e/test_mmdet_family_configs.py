"""MMDetection 3.3.0's own configs of the R-CNN family, read from its wheel with only the registry
scope changed, built and given a training step here: the large-scale-jitter configs, whose heads
normalise with ``MMSyncBN`` (which mmcv builds only inside a process group, so MMDetection stops
there in one process; here it is built as BN with the same checkpoint keys), and Libra R-CNN
(``BFP`` after the FPN, balanced L1, IoU-balanced sampling), also as Fast R-CNN on given
proposals; and Pascal VOC (VOC 2007 + 2012 in VOC's own layout, ``VOCMetric``)."""

import os.path as osp

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from mmengine.structures import InstanceData

from mmcascade.config.loading import check_run_config, load_tool_config
from mmcascade.registry import MODELS
from mmcascade.structures import BitmapMasks, DetDataSample

from helpers.voc_layout import ground_truth_scores, write_voc

pytestmark = pytest.mark.e2e

CONFIGS = [
    "strong_baselines/mask-rcnn_r50_fpn_rpn-2conv_4conv1fc_syncbn-all_lsj-100e_coco.py",
    "strong_baselines/mask-rcnn_r50-caffe_fpn_rpn-2conv_4conv1fc_syncbn-all_lsj-100e_coco.py",
    "simple_copy_paste/mask-rcnn_r50_fpn_rpn-2conv_4conv1fc_syncbn-all_32xb2-ssj-270k_coco.py",
]


def _sample() -> DetDataSample:
    shape = (128, 128)
    meta = dict(img_shape=shape, ori_shape=shape, pad_shape=shape, batch_input_shape=shape, scale_factor=(1.0, 1.0))
    sample = DetDataSample(metainfo=meta)
    masks = torch.zeros(1, *shape, dtype=torch.uint8)
    masks[0, 20:90, 30:100] = 1
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[30.0, 20.0, 100.0, 90.0]]),
        labels=torch.tensor([3]),
        masks=BitmapMasks(masks.numpy(), *shape),
    )
    return sample


LIBRA = ["libra_rcnn/libra-faster-rcnn_r50_fpn_1x_coco.py", "libra_rcnn/libra-fast-rcnn_r50_fpn_1x_coco.py"]


@pytest.mark.parametrize("config", LIBRA)
def test_libra_configs_build_and_train(mmdet_configs, config):
    cfg = load_tool_config(
        osp.join(mmdet_configs, config), {"default_scope": "mmcascade", "model.backbone.init_cfg": None}
    )
    check_run_config(cfg)
    model = MODELS.build(cfg.model)
    assert [type(m).__name__ for m in model.neck] == ["FPN", "BFP"]
    assert "neck.1.refine.conv_out.conv.weight" in model.state_dict()  # MMDetection's keys
    sampler = cfg.model.train_cfg.rcnn.sampler
    assert sampler.type == "CombinedSampler" and sampler.neg_sampler.type == "IoUBalancedNegSampler"
    torch.manual_seed(0)
    model.init_weights()
    model.train()
    sample = _sample()
    if not model.with_rpn:  # Fast R-CNN: proposals come with the data
        sample.proposals = InstanceData(bboxes=torch.tensor([[28.0, 18.0, 99.0, 92.0], [0.0, 0.0, 60.0, 60.0]]))
    losses = model.loss(torch.randn(1, 3, 128, 128), [sample])
    assert torch.isfinite(losses["loss_bbox"]) and torch.isfinite(losses["loss_cls"])


@pytest.mark.parametrize("config", CONFIGS)
def test_syncbn_config_builds_and_trains_in_one_process(mmdet_configs, config):
    cfg = load_tool_config(
        osp.join(mmdet_configs, config), {"default_scope": "mmcascade", "model.backbone.init_cfg": None}
    )
    check_run_config(cfg)
    assert cfg.model.roi_head.bbox_head.norm_cfg.type == "BN" and cfg.model.roi_head.mask_head.norm_cfg.type == "BN"
    model = MODELS.build(cfg.model)
    keys = model.state_dict().keys()
    assert "roi_head.bbox_head.shared_convs.0.bn.running_var" in keys and "roi_head.mask_head.convs.0.bn.weight" in keys
    if config == CONFIGS[0]:
        torch.manual_seed(0)
        model.init_weights()
        model.train()
        losses = model.loss(torch.randn(2, 3, 128, 128), [_sample(), _sample()])
        total = sum(v for k, v in losses.items() if "loss" in k)
        assert torch.isfinite(total)
        total.backward()
        assert model.roi_head.bbox_head.shared_convs[0].bn.weight.grad is not None


def test_mmdetections_voc_config_reads_voc_and_evaluates(mmdet_configs, tmp_path):
    root = write_voc(str(tmp_path / "VOCdevkit"), ("VOC2007", "VOC2012"))
    options = {"default_scope": "mmcascade", "model.backbone.init_cfg": None}
    options.update({f"train_dataloader.dataset.dataset.datasets.{i}.data_root": root for i in (0, 1)})
    options.update({f"{loader}.dataset.data_root": root for loader in ("val_dataloader", "test_dataloader")})
    cfg = load_tool_config(osp.join(mmdet_configs, "pascal_voc", "faster-rcnn_r50_fpn_1x_voc0712.py"), options)
    check_run_config(cfg)
    train = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    assert len(train.dataset) == 12 and train.dataset.metainfo["classes"][11] == "dog"
    model = MODELS.build(cfg.model)
    torch.manual_seed(0)
    model.init_weights()
    data = model.data_preprocessor(next(iter(train)), True)
    losses = model.loss(data["inputs"], data["data_samples"])
    assert torch.isfinite(losses["loss_cls"])
    val = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    assert ground_truth_scores(Evaluator(cfg.val_evaluator), val) == {"pascal_voc/mAP": 1.0, "pascal_voc/AP50": 1.0}
