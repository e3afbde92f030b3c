"""A cascade on a ResNet with modulated deformable convs (DCNv2) exports to one ONNX file of
standard operators (the deformable conv traced in its torch form, as mmcv's op has no ONNX form)
whose ONNX Runtime detections equal PyTorch's (``export_onnx`` checks them before keeping it)."""

import onnx
import pytest
import torch
from mmengine.config import Config

from mmcascade.apis import init_detector
from mmcascade.deploy.export import export_onnx
from mmcascade.registry import MODELS

from helpers import REPO, tiny_model_cfg
from helpers.seeded import seeded_state

pytestmark = pytest.mark.e2e


def test_dcn_cascade_exports_with_standard_operators(tmp_path):
    model_cfg = tiny_model_cfg()
    model_cfg["backbone"] = dict(
        type="ResNet", depth=50, base_channels=8, dcn=dict(type="DCNv2", deform_groups=1),
        stage_with_dcn=(False, True, True, True), init_cfg=None,
    )  # fmt: skip
    model_cfg["neck"]["in_channels"] = [32, 64, 128, 256]
    cfg = Config.fromfile(f"{REPO}/configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py")
    cfg.model = model_cfg
    cfg.dump(str(tmp_path / "dcn.py"))
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    seeded_state(model)  # offsets far from zero: every tap is deformed
    meta = {"dataset_meta": {"classes": ["a", "b", "c"]}}
    torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp_path / "dcn.pth")
    detector = init_detector(str(tmp_path / "dcn.py"), str(tmp_path / "dcn.pth"), device="cpu")
    report = export_onnx(detector, tmp_path / "dcn.onnx", checkpoint=tmp_path / "dcn.pth", shape=(256, 320))
    assert report.detections and report.box_diff is not None and report.box_diff < 1e-2
    domains = {node.domain for node in onnx.load(str(tmp_path / "dcn.onnx")).graph.node}
    assert domains <= {"", "ai.onnx"}, domains


def test_convnext_cascade_with_4conv1fc_giou_heads_exports(tmp_path):
    """The ConvNeXt / Swin cascade rows' model (layer-scaled ConvNeXt blocks, four-conv SyncBN box
    heads with class-specific GIoU regression), shrunk: ONNX Runtime's detections equal PyTorch's."""
    cfg = Config.fromfile(
        f"{REPO}/configs/convnext/cascade_mask_rcnn_convnext-t_p4_w7_fpn_giou_4conv1f_fp16_ms-crop_3x_coco.py"
    )
    model_cfg = cfg.model
    model_cfg.backbone.update(arch=dict(depths=[1, 1, 2, 1], channels=[8, 16, 32, 64]), init_cfg=None)
    model_cfg.neck.update(in_channels=[8, 16, 32, 64], out_channels=16)
    model_cfg.rpn_head.update(in_channels=16, feat_channels=16)
    model_cfg.roi_head.bbox_roi_extractor.out_channels = 16
    model_cfg.roi_head.mask_roi_extractor.out_channels = 16
    for head in model_cfg.roi_head.bbox_head:
        head.update(num_classes=3, in_channels=16, conv_out_channels=16, fc_out_channels=32)
    for head in model_cfg.roi_head.mask_head:
        head.update(num_classes=3, in_channels=16, conv_out_channels=16)
    embedded = Config.fromfile(f"{REPO}/configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py")
    embedded.model = model_cfg
    embedded.dump(str(tmp_path / "cnx.py"))
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    seeded_state(model)
    meta = {"dataset_meta": {"classes": ["a", "b", "c"]}}
    torch.save({"state_dict": model.state_dict(), "meta": meta}, tmp_path / "cnx.pth")
    detector = init_detector(str(tmp_path / "cnx.py"), str(tmp_path / "cnx.pth"), device="cpu")
    report = export_onnx(detector, tmp_path / "cnx.onnx", checkpoint=tmp_path / "cnx.pth", shape=(256, 320))
    assert report.detections and report.box_diff is not None and report.box_diff < 1e-2
