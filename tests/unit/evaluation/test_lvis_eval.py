"""LVIS's federated AP on cases worked out by hand: two images, category 1 frequent ('f'),
category 2 rare ('r'), category 3 common ('c', no annotation anywhere).

Image 1 holds one object of category 1 at [10, 10, 50, 50] (xywh); image 2 one object of
category 2 at [60, 60, 30, 30]. A detection on an object scores IoU 1, elsewhere IoU 0.

* The category-1 detection on its object (0.9) is a hit; the category-2 detection misses (0.8):
  AP(1) = 1, AP(2) = 0, so AP = APf = 0.5, APr = 0, APc = -1 (no ground truth).
* A category-1 detection in image 2 (0.95, higher than the hit): image 2 says nothing of
  category 1, so federated AP drops it: AP(1) stays 1 (COCO would count it: precision 1/2 at
  recall 1, AP(1) = 0.5).
* The same with category 1 in image 2's ``neg_category_ids`` (verified absent): a false
  positive ranked first, AP(1) = 0.5.
* An unmatched category-1 detection in image 1 (0.95) with category 1 in image 1's
  ``not_exhaustive_category_ids``: ignored, AP(1) = 1; without that list, AP(1) = 0.5.
* More than ``max_dets`` detections in an image: only the top-scoring ``max_dets`` count.
"""

import copy

import pytest
from pycocotools.coco import COCO

from mmcascade.evaluation.lvis_eval import run_lvis_eval, top_dets_per_image

GT = {
    "images": [
        {"id": 1, "width": 128, "height": 128, "neg_category_ids": [], "not_exhaustive_category_ids": []},
        {"id": 2, "width": 128, "height": 128, "neg_category_ids": [], "not_exhaustive_category_ids": []},
    ],
    "categories": [
        {"id": 1, "name": "cat1", "frequency": "f"},
        {"id": 2, "name": "cat2", "frequency": "r"},
        {"id": 3, "name": "cat3", "frequency": "c"},
    ],
    "annotations": [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "area": 2500},
        {"id": 2, "image_id": 2, "category_id": 2, "bbox": [60, 60, 30, 30], "area": 900},
    ],
}
HIT = {"image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 50], "score": 0.9}
MISS = {"image_id": 2, "category_id": 2, "bbox": [0, 0, 20, 20], "score": 0.8}
STRAY = {"image_id": 2, "category_id": 1, "bbox": [0, 0, 20, 20], "score": 0.95}


def _gt(**image_lists) -> COCO:
    data = copy.deepcopy(GT)
    for key, (img, cats) in image_lists.items():
        data["images"][img - 1][key] = cats
    coco = COCO()
    coco.dataset = data
    coco.createIndex()
    return coco


def _ap(gt: COCO, dets: list[dict]) -> dict[str, float]:
    return run_lvis_eval(gt, copy.deepcopy(dets), "bbox")[0]


def test_ap_and_frequency_groups():
    res = _ap(_gt(), [HIT, MISS])
    assert res["AP"] == pytest.approx(0.5) and res["APf"] == pytest.approx(1.0)
    assert res["APr"] == 0.0 and res["APc"] == -1.0
    assert res["AP50"] == pytest.approx(0.5) and res["AR@300"] == pytest.approx(0.5)
    # category 1's object is medium (32^2 < 2500 < 96^2), category 2's small (900 < 32^2)
    assert res["APm"] == pytest.approx(1.0) and res["APs"] == 0.0 and res["APl"] == -1.0


def test_detections_of_unverified_categories_are_dropped():
    assert _ap(_gt(), [HIT, MISS, STRAY])["APf"] == pytest.approx(1.0)


def test_detections_of_negative_categories_are_false_positives():
    gt = _gt(neg_category_ids=(2, [1]))
    assert _ap(gt, [HIT, MISS, STRAY])["APf"] == pytest.approx(0.5)


def test_unmatched_detections_of_not_exhaustive_categories_are_ignored():
    extra = dict(HIT, bbox=[80, 80, 20, 20], score=0.95)
    assert _ap(_gt(), [HIT, MISS, extra])["APf"] == pytest.approx(0.5)
    assert _ap(_gt(not_exhaustive_category_ids=(1, [1])), [HIT, MISS, extra])["APf"] == pytest.approx(1.0)


def test_at_most_max_dets_per_image():
    dets = [dict(HIT, bbox=[90, 90, 10, 10], score=0.99 - i / 1000) for i in range(3)] + [HIT]
    kept = top_dets_per_image(dets, 3)
    assert [d["score"] for d in kept] == pytest.approx([0.99, 0.989, 0.988])
    res, _ = run_lvis_eval(_gt(), copy.deepcopy(dets + [MISS]), "bbox", max_dets=3)
    assert res["APf"] == 0.0  # the hit was the fourth of image 1


def test_lvis_metric_names_its_results_as_mmdetection(tmp_path):
    """``LVISMetric`` through mmengine's Evaluator: ``lvis/bbox_AP``... ``lvis/bbox_APf`` (three
    decimals), per-category AP with ``classwise``, and ``metric_items`` choosing among them."""
    import json

    import torch
    from mmengine.evaluator import Evaluator
    from mmengine.structures import InstanceData

    from mmcascade.structures import DetDataSample

    ann = tmp_path / "lvis_val.json"
    ann.write_text(json.dumps(GT))
    preds = {1: ([10, 10, 60, 60], 0), 2: ([0, 0, 20, 20], 1)}  # xyxy, label (class index)

    def run(**options) -> dict:
        evaluator = Evaluator(dict(type="LVISMetric", ann_file=str(ann), **options))
        evaluator.dataset_meta = dict(classes=("cat1", "cat2", "cat3"))
        samples = []
        for img_id, (box, label) in preds.items():
            sample = DetDataSample(metainfo=dict(img_id=img_id, ori_shape=(128, 128)))
            sample.pred_instances = InstanceData(
                bboxes=torch.tensor([box], dtype=torch.float32), scores=torch.tensor([0.9]), labels=torch.tensor([label])
            )
            samples.append(sample)
        evaluator.process(samples)
        return evaluator.evaluate(2)

    res = run()
    assert res["lvis/bbox_AP"] == 0.5 and res["lvis/bbox_APf"] == 1.0 and res["lvis/bbox_APr"] == 0.0
    assert res["lvis/bbox_APc"] == -1.0 and len(res) == 9
    assert run(classwise=True)["lvis/cat1_precision"] == 1.0
    assert set(run(metric_items=["APr", "AR@300"])) == {"lvis/bbox_APr", "lvis/bbox_AR@300"}
    with pytest.raises(KeyError, match="not reported"):
        run(metric_items=["mAP"])
    with pytest.raises(ValueError, match="proposal_fast"):
        run(metric="proposal")
