"""Proposal recall: ``eval_recalls`` and ``CocoMetric(metric='proposal_fast')``, pinned to
MMDetection 3.3.0's values on the same boxes. MMDetection's own ``eval_recalls`` stops with a
numpy ``ValueError`` (a ragged array) whenever images hold different numbers of boxes; its numbers
here were measured with that one array built as an object array, the rest of its code as it is."""

import json

import numpy as np
import pytest
import torch

from mmcascade.evaluation import CocoMetric, eval_recalls
from mmcascade.evaluation.functional import eval_recalls as eval_recalls_by_mmdet_path
from mmcascade.evaluation.recall import greedy_matched_ious

GTS = [
    np.array([[0, 0, 10, 10], [20, 20, 40, 50], [5, 5, 15, 15]], np.float32),
    np.zeros((0, 4), np.float32),
    np.array([[0, 0, 30, 30]], np.float32),
]
PROPOSALS = [
    np.array([[1, 1, 10, 11], [4, 6, 15, 15], [0, 0, 11, 10], [21, 18, 40, 45]], np.float32),
    np.array([[0, 0, 3, 3]], np.float32),
    np.zeros((0, 4), np.float32),
]
# MMDetection 3.3.0
MMDET_RECALLS = [
    [0.25, 0.25, 0.0],
    [0.5, 0.5, 0.0],
    [0.75, 0.75, 0.25],
]  # proposal_nums [1, 2, 4] x iou_thrs [0.5, 0.7, 0.9]
MMDET_RECALLS_SCORED = [[0.25, 0.25], [0.5, 0.5]]  # scores 0.1 .. 0.9: ranked by score
# a COCO file of 4 images (one crowd box) and each image's boxes in predicted order
COCO_GT = {
    "images": [
        {"id": 1, "width": 100, "height": 80, "file_name": "0.jpg"},
        {"id": 2, "width": 100, "height": 80, "file_name": "1.jpg"},
        {"id": 3, "width": 100, "height": 80, "file_name": "2.jpg"},
        {"id": 4, "width": 100, "height": 80, "file_name": "3.jpg"},
    ],
    "annotations": [
        {
            "id": 1,
            "image_id": 1,
            "bbox": [33.04787415447453, 28.32591290472419, 15.181665861953052, 22.878966181918205],
            "area": 347.340819840806,
            "iscrowd": 0,
            "category_id": 1,
        },
        {
            "id": 2,
            "image_id": 1,
            "bbox": [53.57681726085928, 35.85172355733752, 9.395485866234269, 12.253500734836535],
            "area": 115.1275929660479,
            "iscrowd": 0,
            "category_id": 1,
        },
        {
            "id": 3,
            "image_id": 1,
            "bbox": [3.0880321980497927, 17.632393746025457, 6.045667380749844, 20.98916285381489],
            "area": 126.89349721455498,
            "iscrowd": 0,
            "category_id": 1,
        },
        {
            "id": 4,
            "image_id": 3,
            "bbox": [38.94864285688564, 11.139491305919012, 28.668921569304594, 25.68019860957228],
            "area": 736.2235998219926,
            "iscrowd": 0,
            "category_id": 1,
        },
        {
            "id": 5,
            "image_id": 3,
            "bbox": [1.4389129426299219, 22.35416351963528, 14.073835641761288, 19.52854189535244],
            "area": 274.8414889584397,
            "iscrowd": 0,
            "category_id": 1,
        },
        {
            "id": 6,
            "image_id": 4,
            "bbox": [17.011504906279125, 27.725516732519853, 20.415880118475883, 10.490370846623716],
            "area": 214.17015360302412,
            "iscrowd": 1,
            "category_id": 1,
        },
        {
            "id": 7,
            "image_id": 4,
            "bbox": [32.678941081910686, 31.21259058045468, 15.722723633166291, 12.76852593762635],
            "area": 200.7560045202146,
            "iscrowd": 0,
            "category_id": 1,
        },
        {
            "id": 8,
            "image_id": 4,
            "bbox": [23.278275453338924, 37.455345994417215, 39.15983978655268, 28.53342865694848],
            "area": 1117.3644947671335,
            "iscrowd": 0,
            "category_id": 1,
        },
        {
            "id": 9,
            "image_id": 4,
            "bbox": [54.170046512303884, 33.83003485172717, 18.229791446511122, 8.227595310510349],
            "area": 149.9873466168966,
            "iscrowd": 0,
            "category_id": 1,
        },
    ],
    "categories": [{"id": 1, "name": "a"}],
}
PREDICTIONS = [
    [
        [34.047874450683594, 28.325912475585938, 48.22954177856445, 53.20487976074219],
        [53.57681655883789, 35.851722717285156, 59.9723014831543, 48.105224609375],
        [24.39119529724121, 28.136415481567383, 46.316688537597656, 45.812583923339844],
        [16.15413475036621, 17.507566452026367, 45.92316818237305, 48.64368438720703],
        [27.461183547973633, 51.63203430175781, 56.649436950683594, 80.75334930419922],
        [35.175174713134766, 17.0092716217041, 53.25117874145508, 45.39398956298828],
        [16.67864990234375, 27.277324676513672, 33.5733528137207, 52.325111389160156],
    ],
    [
        [19.548429489135742, 26.708702087402344, 48.75014114379883, 54.47539138793945],
        [3.6917357444763184, 14.560524940490723, 34.029605865478516, 36.18862533569336],
        [58.29615783691406, 13.835052490234375, 84.17938995361328, 21.17898178100586],
    ],
    [],
    [
        [4.353728294372559, 11.93856143951416, 16.076257705688477, 42.336997985839844],
        [9.11166000366211, 6.006260871887207, 41.58444595336914, 45.02970504760742],
        [7.757631778717041, 33.19666290283203, 42.541629791259766, 57.22246551513672],
        [11.268889427185059, 57.126075744628906, 19.411569595336914, 79.23664093017578],
        [40.896705627441406, 32.461181640625, 78.37448120117188, 65.02781677246094],
        [42.43083572387695, 15.833200454711914, 64.40913391113281, 36.76797866821289],
        [55.60354232788086, 50.35158157348633, 68.23303985595703, 61.55405044555664],
        [43.57917022705078, 28.81439781188965, 51.15599822998047, 65.04815673828125],
        [50.52619171142578, 44.68513870239258, 77.932373046875, 54.7017707824707],
        [39.61955261230469, 54.83851623535156, 59.11399841308594, 61.55732727050781],
        [38.019935607910156, 21.95643424987793, 50.347999572753906, 52.531219482421875],
        [33.17067337036133, 11.782835006713867, 60.9599723815918, 33.54707336425781],
    ],
]
MMDET_PROPOSAL_FAST = {
    "1, 5, 10": {"coco/AR@1": 0.1, "coco/AR@5": 0.15, "coco/AR@10": 0.15},
    "100, 300, 1000": {"coco/AR@100": 0.15, "coco/AR@300": 0.15, "coco/AR@1000": 0.15},
}


def test_eval_recalls_matches_mmdetection():
    assert eval_recalls(GTS, PROPOSALS, [1, 2, 4], [0.5, 0.7, 0.9]).tolist() == MMDET_RECALLS
    assert eval_recalls_by_mmdet_path is eval_recalls
    assert eval_recalls(GTS, PROPOSALS, 3, 0.5).tolist() == [[0.5]]
    scored = [np.c_[p, np.linspace(0.1, 0.9, len(p))] if len(p) else np.zeros((0, 5), np.float32) for p in PROPOSALS]
    assert eval_recalls(GTS, scored, [1, 2], [0.5, 0.7]).tolist() == MMDET_RECALLS_SCORED


def test_greedy_matching_by_hand():
    # both boxes overlap proposal 0 best; the better pair is matched first, the other box takes
    # its second choice
    ious = np.array([[0.9, 0.6], [0.8, 0.1]], np.float32)
    assert greedy_matched_ious(ious).tolist() == pytest.approx([0.9, 0.1])
    ious = np.array([[0.6, 0.2], [0.8, 0.7]], np.float32)  # 0.8 first: box 0 is left with 0.2
    assert greedy_matched_ious(ious).tolist() == pytest.approx([0.8, 0.2])
    # one proposal for two boxes: the second box finds none
    assert greedy_matched_ious(np.array([[0.5], [0.7]], np.float32)).tolist() == pytest.approx([0.7, -1])
    assert greedy_matched_ious(np.zeros((2, 0), np.float32)).tolist() == [0, 0]
    assert np.isnan(eval_recalls([np.zeros((0, 4))], [np.zeros((1, 4))], [1], [0.5], logger="silent")).all()


@pytest.mark.parametrize("nums", [(1, 5, 10), (100, 300, 1000)])
def test_coco_metric_proposal_fast_matches_mmdetection(tmp_path, nums):
    ann = tmp_path / "gt.json"
    ann.write_text(json.dumps(COCO_GT))
    metric = CocoMetric(ann_file=str(ann), metric="proposal_fast", proposal_nums=nums)
    metric.dataset_meta = dict(classes=("a",))
    for i, boxes in enumerate(PREDICTIONS):
        boxes = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
        pred = dict(
            bboxes=boxes, scores=torch.linspace(1, 0.1, len(boxes)), labels=torch.zeros(len(boxes), dtype=torch.long)
        )
        metric.process({}, [dict(img_id=i + 1, ori_shape=(80, 100), pred_instances=pred)])
    out = metric.evaluate(len(PREDICTIONS))
    expected = MMDET_PROPOSAL_FAST[", ".join(map(str, nums))]
    assert out.keys() == expected.keys()
    assert [out[k] for k in expected] == pytest.approx(list(expected.values()), abs=1e-7)
