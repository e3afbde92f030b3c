"""CocoMetric and DumpDetResults as MMDetection 3.3.0's: the returned keys and values, the
evaluation without ``ann_file``, and the ``--out`` pickle's layout, each measured from MMDetection on
the same inputs."""

import json
import pickle

import pytest
import torch
from mmengine.structures import InstanceData
from pycocotools.coco import COCO

from mmcascade.evaluation import CocoMetric, DumpDetResults, load_detections
from mmcascade.structures import DetDataSample


def _pred(boxes, scores, labels) -> dict:
    return dict(bboxes=torch.tensor(boxes), scores=torch.tensor(scores), labels=torch.tensor(labels))


def test_keys_and_values_as_mmdet(tmp_path):
    """MMDetection 3.3.0's CocoMetric on this ground truth and these detections returned exactly
    these keys and values (classwise AP under ``coco/<class>_precision``, no copypaste string)."""
    gt = dict(
        images=[dict(id=i, width=100, height=80, file_name=f"{i}.png") for i in (1, 2)],
        annotations=[
            dict(id=1, image_id=1, category_id=1, bbox=[10, 10, 30, 20], area=600, iscrowd=0),
            dict(id=2, image_id=1, category_id=2, bbox=[50, 40, 20, 30], area=600, iscrowd=0),
            dict(id=3, image_id=2, category_id=1, bbox=[5, 5, 40, 40], area=1600, iscrowd=0),
        ],
        categories=[dict(id=1, name="cat"), dict(id=2, name="dog")],
    )
    path = tmp_path / "gt.json"
    path.write_text(json.dumps(gt))
    metric = CocoMetric(ann_file=str(path), metric="bbox", classwise=True)
    metric.dataset_meta = dict(classes=("cat", "dog"))

    metric.process(
        {},
        [
            dict(
                img_id=1,
                ori_shape=(80, 100),
                pred_instances=_pred([[10.0, 10, 40, 30], [52, 40, 70, 70]], [0.9, 0.8], [0, 1]),
            ),
            dict(img_id=2, ori_shape=(80, 100), pred_instances=_pred([[5.0, 5, 40, 45]], [0.7], [0])),
        ],
    )
    assert metric.evaluate(2) == {
        "coco/cat_precision": 0.901,
        "coco/dog_precision": 0.9,
        "coco/bbox_mAP": 0.9,
        "coco/bbox_mAP_50": 1.0,
        "coco/bbox_mAP_75": 1.0,
        "coco/bbox_mAP_s": 0.95,
        "coco/bbox_mAP_m": 0.8,
        "coco/bbox_mAP_l": -1.0,
    }


def test_dump_det_results_writes_mmdets_layout(tmp_path):
    """The ``--out`` pickle as MMDetection 3.3.0's DumpDetResults wrote it for this sample: every
    metainfo key, no ground truth, tensors, RLE masks with bytes counts ('a026000W1' measured
    from MMDetection for this mask); ``classes`` is mmcascade's addition."""
    meta = dict(
        img_id=3,
        img_path="a.jpg",
        ori_shape=(8, 10),
        img_shape=(16, 20),
        scale_factor=(2.0, 2.0),
        flip=False,
        flip_direction=None,
        pad_shape=(16, 20),
        batch_input_shape=(16, 20),
    )
    sample = DetDataSample(metainfo=meta)
    sample.gt_instances = InstanceData(bboxes=torch.zeros(1, 4), labels=torch.zeros(1, dtype=torch.long))
    masks = torch.zeros(2, 8, 10, dtype=torch.bool)
    masks[0, 1:3, 2:5] = True
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[1.0, 2, 3, 4], [2, 2, 5, 5]]),
        scores=torch.tensor([0.9, 0.3]),
        labels=torch.tensor([1, 0]),
        masks=masks,
    )
    dump = DumpDetResults(out_file_path=str(tmp_path / "out.pkl"))
    dump.dataset_meta = dict(classes=("cat", "dog"))
    dump.process({}, [sample.to_dict()])
    dump.compute_metrics(dump.results)
    with open(tmp_path / "out.pkl", "rb") as f:
        (record,) = pickle.load(f)
    assert set(record) == set(meta) | {"pred_instances", "classes"}
    assert all(record[k] == v for k, v in meta.items()) and record["classes"] == ("cat", "dog")
    pred = record["pred_instances"]
    assert pred["bboxes"].dtype == torch.float32 and pred["labels"].dtype == torch.int64
    assert pred["masks"][0] == {"size": [8, 10], "counts": b"a026000W1"}
    gt = dict(
        images=[dict(id=3, width=10, height=8, file_name="a.jpg")],
        annotations=[dict(id=1, image_id=3, category_id=2, bbox=[1, 2, 2, 2], area=4, iscrowd=0)],
        categories=[dict(id=1, name="cat"), dict(id=2, name="dog")],
    )
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    dets = load_detections(str(tmp_path / "out.pkl"), COCO(str(tmp_path / "gt.json")), "segm")
    assert [d["category_id"] for d in dets] == [2, 1] and dets[0]["segmentation"]["counts"] == "a026000W1"


def test_without_ann_file_the_ground_truth_comes_from_the_samples():
    """MMDetection 3.3.0's CocoMetric(ann_file=None) on samples carrying 'instances' (a crowd box
    among them) gave exactly these figures."""
    metric = CocoMetric(ann_file=None, metric="bbox", classwise=True)
    metric.dataset_meta = dict(classes=("cat", "dog"))
    inst1 = [
        dict(bbox=[10, 10, 40, 30], bbox_label=0, ignore_flag=0),
        dict(bbox=[50, 40, 70, 70], bbox_label=1, ignore_flag=0),
        dict(bbox=[0, 0, 5, 5], bbox_label=1, ignore_flag=1),
    ]
    inst2 = [dict(bbox=[5, 5, 45, 45], bbox_label=0, ignore_flag=0)]

    samples = [
        dict(
            img_id=1,
            ori_shape=(80, 100),
            instances=inst1,
            pred_instances=_pred([[10.0, 10, 40, 30], [52, 40, 70, 70], [0, 0, 5, 5]], [0.9, 0.8, 0.7], [0, 1, 1]),
        ),
        dict(
            img_id=2,
            ori_shape=(80, 100),
            instances=inst2,
            pred_instances=_pred([[5.0, 5, 40, 45], [60, 60, 70, 70]], [0.7, 0.6], [0, 0]),
        ),
    ]
    metric.process({}, samples)
    assert metric.evaluate(2) == {
        "coco/cat_precision": 0.901,
        "coco/dog_precision": 0.9,
        "coco/bbox_mAP": 0.9,
        "coco/bbox_mAP_50": 1.0,
        "coco/bbox_mAP_75": 1.0,
        "coco/bbox_mAP_s": 0.95,
        "coco/bbox_mAP_m": 0.8,
        "coco/bbox_mAP_l": -1.0,
    }
    bare = CocoMetric(ann_file=None)
    bare.dataset_meta = dict(classes=("cat", "dog"))
    with pytest.raises(ValueError, match="add 'instances' to PackDetInputs' meta_keys, or give ann_file"):
        bare.process({}, [dict(img_id=1, ori_shape=(8, 8), pred_instances=_pred([[0.0, 0, 1, 1]], [0.5], [0]))])
