"""The exporter's check asks no more agreement than PyTorch has with itself: tolerances from
PyTorch's own runs rounded otherwise (hand-made detections, the numbers worked out here)."""

import numpy as np
import pytest

from mmcascade.deploy.contract import ExportError
from mmcascade.deploy.matching import BOX_TOLERANCE, match_detections, self_agreement


def dets(boxes, scores, labels):
    return dict(bboxes=np.array(boxes, np.float32), scores=np.array(scores, np.float32), labels=np.array(labels))


REFERENCE = dets(
    [[0, 0, 100, 100], [200, 200, 210, 260], [300, 0, 400, 50], [0, 300, 100, 400], [500, 500, 600, 550]],
    [0.9, 0.6, 0.4, 0.3, 0.2],
    [1, 2, 1, 0, 0],
)


def moved(box_moves, score_moves):
    """REFERENCE with each detection's x2 and score moved by these amounts."""
    out = {k: v.copy() for k, v in REFERENCE.items()}
    out["bboxes"][:, 2] += np.array(box_moves, np.float32)
    out["scores"] += np.array(score_moves, np.float32)
    return out


def test_each_detection_earns_twice_what_pytorch_moves_it_by():
    # between PyTorch's own runs detection 1 (60 px tall) moves by 0.3 px and 2e-3 in score (a
    # near tie); the others by 0.004, 0.002, 0 and 0.001 px on 100 px boxes
    tol = self_agreement(REFERENCE, [moved([0.004, 0.3, 0.002, 0, 0.001], [0, 2e-3, 0, 0, 0])])
    assert tol.box[1] == pytest.approx(0.6, abs=1e-4) and tol.score[1] == pytest.approx(4e-3, abs=1e-6)
    # relative movements 4e-5, 5e-3, 2e-5, 0, 1e-5: their 0.75 quantile is 4e-5, i.e. 0.004 px on a
    # 100 px box, so the others keep the floor of 0.01 px (and 1e-4 in score)
    assert tol.box[[0, 2, 3, 4]] == pytest.approx([BOX_TOLERANCE] * 4)
    assert not tol.unstable.any() and tol.jitter_box == pytest.approx(0.3, abs=1e-4)
    ei, gi = match_detections(REFERENCE, moved([0.009, 0.5, 0, 0, 0], [0, 3.5e-3, 0, 0, 0]), tolerance=tol)
    assert ei.tolist() == gi.tolist() == [0, 1, 2, 3, 4]
    # but a stable detection moved by more than its own tolerance is named
    with pytest.raises(ExportError, match=r"detection 0 of PyTorch \(label 1, score 0.900000.*within 0.01 px"):
        match_detections(REFERENCE, moved([0.02, 0.3, 0, 0, 0], [0, 2e-3, 0, 0, 0]), tolerance=tol)
    with pytest.raises(ExportError, match=r"detection 1 of PyTorch.*within 0.6 px"):
        match_detections(REFERENCE, moved([0, 0.7, 0, 0, 0], [0, 0, 0, 0, 0]), tolerance=tol)


def test_a_detection_pytorch_itself_loses_may_be_missing_and_one_it_gives_may_be_extra():
    # on another rounding, PyTorch loses detection 1 and gives another box of label 2 instead
    variant = moved([0] * 5, [0] * 5)
    variant["bboxes"][1] = [120, 200, 130, 260]
    variant["scores"][1] = 0.59
    tol = self_agreement(REFERENCE, [variant])
    assert tol.unstable.tolist() == [False, True, False, False, False]
    assert len(tol.extras) == 1 and tol.extras[0]["bboxes"].tolist() == [[120, 200, 130, 260]]
    ei, gi = match_detections(REFERENCE, variant, tolerance=tol)  # the file rounds as that run did
    assert ei.tolist() == [0, 2, 3, 4]
    unknown = {k: v.copy() for k, v in variant.items()}
    unknown["bboxes"][1] = [500, 500, 520, 520]
    with pytest.raises(ExportError, match=r"1 detection\(s\) PyTorch does not give, e.g. label 2, score 0.59"):
        match_detections(REFERENCE, unknown, tolerance=tol)
    # a stable detection gone from the file is still a failure
    with pytest.raises(ExportError, match="detection 2 of PyTorch"):
        match_detections(REFERENCE, {k: v[[0, 1, 3, 4]] for k, v in variant.items()}, tolerance=tol)
