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
