"""The ONNX forms of RoIAlign, NMS and top-k (mmcascade.ops.onnx_symbolic) equal the torch ops:
each exported alone and run by ONNX Runtime and OpenVINO."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmcascade.ops import batched_nms, roi_align_torch
from mmcascade.ops.onnx_symbolic import topk_at_most
from mmcascade.ops.roi_align_layer import roi_align

pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning")
pytest.importorskip("onnxruntime", reason="the deploy extra (pip install 'mmcascade[deploy]') is not installed")
from mmcascade.deploy.runtimes import Runtime  # noqa: E402


def export_and_run(module: nn.Module, inputs: tuple, names: list[str], outputs: list[str], tmp_path, runs: list[tuple]):
    path = tmp_path / "op.onnx"
    dynamic = {n: {0: f"{n}_0"} for n in names + outputs}
    with torch.no_grad():
        torch.onnx.export(
            module,
            inputs,
            str(path),
            input_names=names,
            output_names=outputs,
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )
    results = {}
    for backend in ("onnxruntime", "openvino"):
        rt = Runtime(path, backend)
        results[backend] = [rt({n: np.asarray(v) for n, v in zip(names, run)}) for run in runs]
    return results


class NMSModule(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg

    def forward(self, boxes, scores, idxs):
        dets, keep = batched_nms(boxes, scores, idxs, self.cfg)
        return keep


def random_boxes(n: int, classes: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 200
    wh = torch.rand(n, 2, generator=g) * 60 + 2
    boxes = torch.cat([xy, xy + wh], 1)
    return boxes, torch.rand(n, generator=g), torch.randint(0, classes, (n,), generator=g)


def test_nms_hand_computed(tmp_path):
    # IoU(a, b) = 50 / 150 = 1/3, IoU(a, c) = 0: at 0.3 b goes, at 0.4 all stay
    boxes = torch.tensor([[0.0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    idxs = torch.zeros(3, dtype=torch.long)
    for thr, expected in ((0.3, [0, 2]), (0.4, [0, 1, 2])):
        module = NMSModule(dict(type="nms", iou_threshold=thr))
        out = export_and_run(
            module, (boxes, scores, idxs), ["b", "s", "i"], ["keep"], tmp_path, [(boxes, scores, idxs)]
        )
        for backend, runs in out.items():
            assert runs[0]["keep"].tolist() == expected, backend


@pytest.mark.parametrize("split_thr", [10000, 50], ids=["class-offsets", "per-class-split"])
def test_batched_nms_keeps_what_the_torch_path_keeps(tmp_path, split_thr):
    cfg = dict(type="nms", iou_threshold=0.5, split_thr=split_thr)
    module = NMSModule(cfg)
    runs = [random_boxes(n, c, seed) for n, c, seed in ((120, 4, 0), (300, 7, 1), (9, 2, 2), (0, 3, 3))]
    out = export_and_run(module, runs[0], ["b", "s", "i"], ["keep"], tmp_path, runs)
    for (boxes, scores, idxs), *per_backend in zip(runs, out["onnxruntime"], out["openvino"]):
        expected = batched_nms(boxes, scores, idxs, dict(cfg, impl="torch"))[1].tolist()
        for got in per_backend:
            assert got["keep"].tolist() == expected


def test_batched_nms_score_threshold_and_max_num(tmp_path):
    cfg = dict(type="nms", iou_threshold=0.6, score_threshold=0.4, max_num=7)
    runs = [random_boxes(80, 3, 5), random_boxes(40, 2, 6)]
    out = export_and_run(NMSModule(cfg), runs[0], ["b", "s", "i"], ["keep"], tmp_path, runs)
    for (boxes, scores, idxs), *per_backend in zip(runs, out["onnxruntime"], out["openvino"]):
        expected = batched_nms(boxes, scores, idxs, dict(cfg, impl="torch"))[1].tolist()
        assert len(expected) == 7
        for got in per_backend:
            assert got["keep"].tolist() == expected


class RoIAlignModule(nn.Module):
    def __init__(self, sampling_ratio: int, aligned: bool):
        super().__init__()
        self.sampling_ratio, self.aligned = sampling_ratio, aligned

    def forward(self, feat, rois):
        return roi_align(feat, rois, (7, 7), 0.25, self.sampling_ratio, "avg", self.aligned)


@pytest.mark.parametrize("sampling_ratio,aligned", [(0, True), (2, True), (0, False)])
def test_roi_align_node_equals_the_torch_roi_align(tmp_path, sampling_ratio, aligned):
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 8, 25, 31, generator=g)
    xy = torch.rand(40, 2, generator=g) * 130 - 10  # some RoIs start outside the map
    rois = torch.cat(
        [torch.randint(0, 2, (40, 1), generator=g).float(), xy, xy + torch.rand(40, 2, generator=g) * 90], 1
    )
    runs = [(feat, rois), (feat[:1], rois[:3, :] * torch.tensor([0.0, 1, 1, 1, 1]))]
    out = export_and_run(RoIAlignModule(sampling_ratio, aligned), runs[0], ["feat", "rois"], ["pooled"], tmp_path, runs)
    for (f, r), *per_backend in zip(runs, out["onnxruntime"], out["openvino"]):
        expected = roi_align_torch(f, r, (7, 7), 0.25, sampling_ratio, "avg", aligned).numpy()
        for got in per_backend:
            np.testing.assert_allclose(got["pooled"], expected, atol=2e-5)


def test_roi_align_max_mode_is_refused_for_export(tmp_path):
    class MaxPool(nn.Module):
        def forward(self, feat, rois):
            return roi_align(feat, rois, (7, 7), 1.0, 0, "max", True)

    with pytest.raises(ValueError, match="pool_mode='max' cannot be exported"):
        torch.onnx.export(
            MaxPool(),
            (torch.randn(1, 2, 8, 8), torch.tensor([[0.0, 1, 1, 5, 5]])),
            str(tmp_path / "m.onnx"),
            opset_version=17,
            dynamo=False,
        )


def test_topk_at_most_takes_min_of_k_and_the_length(tmp_path):
    class TopK(nn.Module):
        def forward(self, values):
            return topk_at_most(values, 5)[1]

    runs = [(torch.tensor([0.1, 0.9, 0.3, 0.7, 0.5, 0.2, 0.8]),), (torch.tensor([0.4, 0.6]),)]
    out = export_and_run(TopK(), runs[0], ["v"], ["top"], tmp_path, runs)
    for backend, results in out.items():
        assert results[0]["top"].tolist() == [1, 6, 3, 4, 2], backend
        assert results[1]["top"].tolist() == [1, 0], backend


def test_equal_scores_rank_by_index_as_in_onnx(tmp_path):
    """Overlapping boxes of exactly equal scores: ONNX keeps the lower index; so does PyTorch
    inside ``index_tie_order`` (what the exporter compares against)."""
    from mmcascade.ops import index_tie_order

    xy = torch.arange(300).float()[:, None] * 3  # neighbours overlap (IoU 0.57 at width 10)
    boxes = torch.cat([xy, torch.zeros_like(xy), xy + 10, torch.full_like(xy, 10)], 1)
    scores = torch.full((300,), 0.5)
    scores[::7] = 0.75
    idxs = torch.zeros(300, dtype=torch.long)
    cfg = dict(type="nms", iou_threshold=0.5)
    out = export_and_run(
        NMSModule(cfg), (boxes, scores, idxs), ["b", "s", "i"], ["keep"], tmp_path, [(boxes, scores, idxs)]
    )
    with index_tie_order():
        expected = batched_nms(boxes, scores, idxs, cfg)[1].tolist()
    assert expected[:3] == [0, 7, 14]
    for backend, runs in out.items():
        assert runs[0]["keep"].tolist() == expected, backend
