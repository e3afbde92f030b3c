"""Deploy checks that need no exported file: the deploy extra named when missing, detection
matching, a file's metadata against a config."""

import subprocess
import sys

import numpy as np
import pytest

from mmcascade.deploy.backend_detector import BackendMismatchError, check_file_matches
from mmcascade.deploy.contract import ExportError, graph_test_cfg
from mmcascade.deploy.verify import match_detections, score_cutoffs

from helpers import REPO

TEST_CFG = dict(
    rpn=dict(nms_pre=1000, max_per_img=1000, nms=dict(type="nms", iou_threshold=0.7), min_bbox_size=0),
    rcnn=dict(score_thr=0.05, nms=dict(type="nms", iou_threshold=0.5), max_per_img=100, mask_thr_binary=0.5),
)


def test_export_without_the_deploy_extra_names_it():
    code = (
        "import sys\n"
        "for name in ('onnx', 'onnxruntime', 'openvino'): sys.modules[name] = None\n"
        "from mmcascade.tools.deploy.export import main\n"
        "cfg = 'configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py'\n"
        "sys.exit(main([cfg, 'x.pth', '/tmp/never.onnx']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert (
        'onnx is not installed; exported models need the deploy extra: pip install "mmcascade[deploy]"' in proc.stderr
    )


def dets(boxes, scores, labels):
    return dict(bboxes=np.array(boxes, np.float32), scores=np.array(scores, np.float32), labels=np.array(labels))


def test_detections_of_near_equal_score_are_matched_in_either_order():
    a = dets([[0, 0, 10, 10], [20, 20, 30, 30], [5, 5, 8, 8]], [0.9, 0.50001, 0.5], [1, 2, 2])
    b = dets([[0, 0, 10.004, 10], [5, 5, 8, 8.001], [20, 20, 30, 30]], [0.90003, 0.50002, 0.5], [1, 2, 2])
    ei, gi = match_detections(a, b)
    assert ei.tolist() == [0, 1, 2] and gi.tolist() == [0, 2, 1]


def test_a_moved_box_or_another_label_is_named():
    a = dets([[0, 0, 10, 10]], [0.9], [1])
    with pytest.raises(ExportError, match=r"detection 0 of PyTorch \(label 1, score 0.900000"):
        match_detections(a, dets([[0, 0, 10.02, 10]], [0.9], [1]))
    with pytest.raises(ExportError, match="nearest: label 3"):
        match_detections(a, dets([[0, 0, 10, 10]], [0.9], [3]))
    with pytest.raises(ExportError, match="has 1 detection"):
        match_detections(dets(np.zeros((0, 4)), [], []), a)


def test_only_detections_tying_a_cutoff_may_be_on_one_side():
    # max_per_img = 2: the second place is a tie of 0.30000 and 0.30001 that rounding decides
    a = dets([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.30001], [1, 1])
    b = dets([[0, 0, 10, 10], [40, 40, 50, 50]], [0.9, 0.30000], [1, 1])
    cutoffs = score_cutoffs(a["scores"], None, 0.05, 2) + score_cutoffs(b["scores"], None, 0.05, 2)
    ei, gi = match_detections(a, b, cutoffs=cutoffs)
    assert ei.tolist() == [0] and gi.tolist() == [0]
    with pytest.raises(ExportError):
        match_detections(a, b, cutoffs=score_cutoffs(a["scores"], None, 0.05, 3))


def test_a_file_for_other_test_settings_or_classes_is_refused_naming_both():
    meta = dict(test_cfg=graph_test_cfg(TEST_CFG), classes=["cat", "dog"])
    check_file_matches("m.onnx", meta, TEST_CFG, ["cat", "dog"])
    # mask settings are applied outside the graph: they may differ
    check_file_matches("m.onnx", meta, dict(TEST_CFG, rcnn=dict(TEST_CFG["rcnn"], mask_thr_binary=0.4)), None)
    other = dict(TEST_CFG, rpn=dict(TEST_CFG["rpn"], nms_pre=2000))
    with pytest.raises(BackendMismatchError, match=r"test_cfg.rpn = .*'nms_pre': 1000.*config has .*'nms_pre': 2000"):
        check_file_matches("m.onnx", meta, other, None)
    with pytest.raises(BackendMismatchError, match=r"exported for 2 classes \('cat', 'dog'\).*3 classes"):
        check_file_matches("m.onnx", meta, TEST_CFG, ["cat", "dog", "bird"])
    with pytest.raises(BackendMismatchError, match="no mmcascade metadata"):
        check_file_matches("m.onnx", {}, TEST_CFG, None)
