"""Pascal VOC: ``VOCDataset`` reading VOC's own layout (image-id list, one XML per image, 1-based
corners), and its AP (``eval_map``, ``VOCMetric``: 11-point and area, pixel-inclusive widths,
difficult boxes ignored, by scale), pinned to MMDetection 3.3.0 on the same files and results."""

import os

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from mmengine.structures import InstanceData

from mmcascade.config.loading import load_tool_config
from mmcascade.evaluation import VOCMetric
from mmcascade.evaluation.functional import eval_map
from mmcascade.registry import DATASETS
from mmcascade.structures import DetDataSample

from helpers import REPO
from helpers.voc_layout import ground_truth_scores, write_voc

# MMDetection 3.3.0's VOCDataset on the files of _write_voc (the image paths aside)
MMDET_TEST = [
    {
        "img_id": "000001",
        "height": 100,
        "width": 120,
        "instances": [
            {"ignore_flag": 0, "bbox": [9, 19, 109, 89], "bbox_label": 11},
            {"ignore_flag": 1, "bbox": [49, 4, 69, 59], "bbox_label": 14},
        ],
    },
    {
        "img_id": "000002",
        "height": 110,
        "width": 120,
        "instances": [{"ignore_flag": 0, "bbox": [2, 3, 59, 39], "bbox_label": 6}],
    },
    {"img_id": "000003", "height": 120, "width": 120, "instances": []},
]
MMDET_TRAIN = [
    {
        "img_id": "000001",
        "height": 100,
        "width": 120,
        "instances": [
            {"ignore_flag": 0, "bbox": [9, 19, 109, 89], "bbox_label": 11},
            {"ignore_flag": 1, "bbox": [49, 4, 69, 59], "bbox_label": 14},
        ],
    },
    {
        "img_id": "000002",
        "height": 110,
        "width": 120,
        "instances": [{"ignore_flag": 0, "bbox": [2, 3, 59, 39], "bbox_label": 6}],
    },
]  # filter_empty_gt, min_size=32, bbox_min_size=30
# MMDetection 3.3.0's eval_map on _results(): mean AP, per-class AP, per-class ground truth
MMDET_MAP = {
    "area_True_0.5": [0.37410715222358704, [0.4571428894996643, 0.2380952388048172, 0.4270833432674408], [5, 3, 4]],
    "area_True_0.75": [0.13549603521823883, [0.3514285683631897, 0.02380952425301075, 0.03125], [5, 3, 4]],
    "area_False_0.5": [0.2529762089252472, [0.4571428894996643, 0.11428571492433548, 0.1875], [5, 3, 4]],
    "area_False_0.75": [0.13549603521823883, [0.3514285683631897, 0.02380952425301075, 0.03125], [5, 3, 4]],
    "area_scales": [
        [0.3333333432674408, 0.6074073910713196],
        [[0.0, 1.0], [0.0, 0.3222222328186035], [0.6666666865348816, 0.5]],
    ],
    "11points_True_0.5": [
        0.37878790497779846,
        [0.46753251552581787, 0.23701296746730804, 0.4318181872367859],
        [5, 3, 4],
    ],
    "11points_True_0.75": [
        0.14080087840557098,
        [0.36233770847320557, 0.025974027812480927, 0.034090910106897354],
        [5, 3, 4],
    ],
    "11points_False_0.5": [
        0.2612554132938385,
        [0.46753251552581787, 0.11168832331895828, 0.20454545319080353],
        [5, 3, 4],
    ],
    "11points_False_0.75": [
        0.14080087840557098,
        [0.36233770847320557, 0.025974027812480927, 0.034090910106897354],
        [5, 3, 4],
    ],
    "11points_scales": [
        [0.3181818127632141, 0.6070706844329834],
        [[0.0, 1.0], [0.0, 0.3212120831012726], [0.6363636255264282, 0.5]],
    ],
}


def _write_voc(root) -> str:
    return write_voc(str(root))


def _dataset(root: str, test_mode: bool):
    filter_cfg = None if test_mode else dict(filter_empty_gt=True, min_size=32, bbox_min_size=30)
    return DATASETS.build(
        dict(type="VOCDataset", data_root=root, ann_file="VOC2007/ImageSets/Main/test.txt",
             data_prefix=dict(sub_data_root="VOC2007/"), test_mode=test_mode, pipeline=[], filter_cfg=filter_cfg)
    )  # fmt: skip


def test_voc_dataset_reads_as_mmdetection(tmp_path):
    root = _write_voc(tmp_path)
    for test_mode, expected in ((True, MMDET_TEST), (False, MMDET_TRAIN)):
        dataset = _dataset(root, test_mode)
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        assert [{k: d[k] for k in ("img_id", "height", "width", "instances")} for d in infos] == expected
        assert infos[0]["img_path"] == os.path.join(root, "VOC2007", "JPEGImages", "000001.jpg")
        assert dataset.metainfo["dataset_type"] == "VOC2007" and len(dataset.metainfo["classes"]) == 20


def test_a_broken_xml_names_the_file_and_the_object(tmp_path):
    root = _write_voc(tmp_path)
    path = os.path.join(root, "VOC2007", "Annotations", "000002.xml")
    with open(path) as f:
        text = f.read().replace("<xmin>3.7</xmin>", "<xmin>n/a</xmin>")
    with open(path, "w") as f:
        f.write(text)
    with pytest.raises(ValueError, match=r"000002.xml: object 0 \(car\) <bndbox> has no numeric <xmin>"):
        _dataset(root, True)


def _results():
    rng = np.random.RandomState(0)
    dets, anns = [], []
    for i in range(6):
        n = rng.randint(1, 5)
        xy, wh = rng.uniform(0, 80, (n, 2)), rng.uniform(5, 60, (n, 2))
        gt = np.round(np.hstack([xy, xy + wh]))
        labels = rng.randint(0, 3, n)
        ignored = np.zeros((0, 4))
        if i % 2:
            ignored = np.round(np.hstack([rng.uniform(0, 80, (1, 2)), rng.uniform(90, 120, (1, 2))]))
        ann = dict(bboxes=gt.astype(np.float32), labels=labels, bboxes_ignore=ignored.astype(np.float32),
                   labels_ignore=np.array([1] * len(ignored)))  # fmt: skip
        per_class = []
        for c in range(3):
            g = gt[labels == c]
            near = g + rng.normal(0, 4, g.shape) if len(g) else np.zeros((0, 4))
            m = rng.randint(0, 4)
            xy, wh = rng.uniform(0, 80, (m, 2)), rng.uniform(5, 60, (m, 2))
            boxes = np.vstack([near, np.hstack([xy, xy + wh])])
            if c == 1 and len(ignored):
                boxes = np.vstack([boxes, ignored + 1])
            per_class.append(np.hstack([boxes, rng.uniform(0, 1, (len(boxes), 1))]).astype(np.float32))
        dets.append(per_class)
        anns.append(ann)
    return dets, anns


@pytest.mark.parametrize("mode", ["area", "11points"])
def test_eval_map_matches_mmdetection(mode):
    dets, anns = _results()
    for legacy in (True, False):
        for thr in (0.5, 0.75):
            mean_ap, per_class = eval_map(
                dets, anns, iou_thr=thr, eval_mode=mode, use_legacy_coordinate=legacy, logger="silent"
            )
            got = [mean_ap, [float(r["ap"]) for r in per_class], [int(r["num_gts"]) for r in per_class]]
            assert got == MMDET_MAP[f"{mode}_{legacy}_{thr}"]
    mean_ap, per_class = eval_map(dets, anns, scale_ranges=[(0, 32), (32, 1e5)], eval_mode=mode,
                                  use_legacy_coordinate=True, logger="silent")  # fmt: skip
    assert [[float(v) for v in mean_ap], [[float(a) for a in r["ap"]] for r in per_class]] == MMDET_MAP[
        f"{mode}_scales"
    ]


def test_voc_metric_from_samples():
    dets, anns = _results()
    metric = VOCMetric(iou_thrs=[0.5, 0.75], eval_mode="11points")
    metric.dataset_meta = dict(classes=("a", "b", "c"))
    for det, ann in zip(dets, anns):
        boxes = np.vstack(det)
        labels = np.concatenate([np.full(len(d), c) for c, d in enumerate(det)])
        sample = DetDataSample()
        sample.gt_instances = InstanceData(
            bboxes=torch.from_numpy(ann["bboxes"]), labels=torch.from_numpy(ann["labels"])
        )
        sample.ignored_instances = InstanceData(
            bboxes=torch.from_numpy(ann["bboxes_ignore"]).reshape(-1, 4), labels=torch.from_numpy(ann["labels_ignore"])
        )
        sample.pred_instances = InstanceData(
            bboxes=torch.from_numpy(boxes[:, :4]), scores=torch.from_numpy(boxes[:, 4]), labels=torch.from_numpy(labels)
        )
        metric.process({}, [sample])
    out = metric.evaluate(len(dets))
    ap50, ap75 = MMDET_MAP["11points_True_0.5"][0], MMDET_MAP["11points_True_0.75"][0]
    assert list(out) == ["pascal_voc/mAP", "pascal_voc/AP50", "pascal_voc/AP75"]
    assert out["pascal_voc/AP50"] == round(ap50, 3) and out["pascal_voc/AP75"] == round(ap75, 3)
    assert out["pascal_voc/mAP"] == pytest.approx((ap50 + ap75) / 2)


@pytest.mark.parametrize("name", ["cascade_rcnn_r50_fpn_1x_voc0712", "faster_rcnn_r50_fpn_1x_voc0712"])
def test_voc_configs_read_voc_and_score_the_ground_truth_as_perfect(tmp_path, name):
    root = write_voc(str(tmp_path / "VOCdevkit"), ("VOC2007", "VOC2012"))
    cfg = load_tool_config(os.path.join(REPO, "configs", "pascal_voc", f"{name}.py"), {"data_root": root})
    train = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    assert len(train.dataset) == 3 * 4  # 2 training images a year (one has no object) x 2 years x 3
    batch = next(iter(train))
    assert all(s.gt_instances.labels.max() < 20 for s in batch["data_samples"])
    val = Runner.build_dataloader(cfg.val_dataloader, seed=0)
    assert ground_truth_scores(Evaluator(cfg.val_evaluator), val) == {"pascal_voc/mAP": 1.0, "pascal_voc/AP50": 1.0}
