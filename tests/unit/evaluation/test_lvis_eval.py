"""LVIS's federated AP against the lvis package on random cases, and on cases worked out by hand:
two images, category 1 frequent ('f'), category 2 rare ('r'), category 3 common ('c', no
annotation anywhere).

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

import numpy as np
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
                bboxes=torch.tensor([box], dtype=torch.float32),
                scores=torch.tensor([0.9]),
                labels=torch.tensor([label]),
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


# The lvis package's own LVISEval (0.5.3, run with numpy's removed ``np.float`` supplied) on the
# cases of ``_random_case``: ours gives the same numbers, boxes and masks.
LVIS_API = {'0_bbox': {'AP': 0.1424319993273837,
            'AP50': 0.4388203035989873,
            'AP75': 0.013637319614314376,
            'APs': 0.1734818481848185,
            'APm': 0.14546111754032545,
            'APl': -1.0,
            'APr': 0.13685571235694996,
            'APc': 0.17171970768505423,
            'APf': 0.11872057794014695,
            'AR@300': 0.20220959595959595,
            'ARs@300': 0.2725,
            'ARm@300': 0.18923611111111113,
            'ARl@300': -1.0},
 '1_segm': {'AP': 0.13240520892748614,
            'AP50': 0.41612436197832237,
            'AP75': 0.053571071392853574,
            'APs': 0.1636720100581487,
            'APm': 0.14342566399497092,
            'APl': -1.0,
            'APr': 0.09529165416541654,
            'APc': 0.14375785792865,
            'APf': 0.1581661146883919,
            'AR@300': 0.23697059884559882,
            'ARs@300': 0.252037037037037,
            'ARm@300': 0.21041666666666667,
            'ARl@300': -1.0}}  # fmt: skip


def _random_case(seed: int, num_images: int = 30, num_cats: int = 12) -> tuple[dict, list[dict]]:
    """A random LVIS-like ground truth (1 to 3 categories per image, 1 or 2 objects each, two
    verified-absent categories, sometimes one not exhaustively annotated) and detections (80% of
    the objects found with jittered boxes, 2 to 5 stray detections per image)."""
    rng = np.random.default_rng(seed)
    freqs = ["r", "c", "f"]
    cats = [
        dict(id=c + 1, name=f"c{c + 1}", frequency=freqs[c % 3], synset=f"s{c}", image_count=1, instance_count=1)
        for c in range(num_cats)
    ]
    images, anns, dets = [], [], []
    ann_id = 1
    for i in range(num_images):
        img_id = i + 1
        present = sorted(rng.choice(num_cats, size=rng.integers(1, 4), replace=False) + 1)
        absent = [c for c in range(1, num_cats + 1) if c not in present]
        neg = sorted(rng.choice(absent, size=2, replace=False).tolist())
        nel = [int(present[0])] if rng.random() < 0.3 else []
        images.append(dict(id=img_id, width=200, height=160, neg_category_ids=neg, not_exhaustive_category_ids=nel))
        for c in present:
            for _ in range(rng.integers(1, 3)):
                w, h = rng.uniform(8, 90), rng.uniform(8, 70)
                x, y = rng.uniform(0, 200 - w), rng.uniform(0, 160 - h)
                box = [float(x), float(y), float(w), float(h)]
                anns.append(
                    dict(
                        id=ann_id,
                        image_id=img_id,
                        category_id=int(c),
                        bbox=box,
                        area=float(w * h),
                        segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]],
                    )
                )
                ann_id += 1
                if rng.random() < 0.8:  # a detection near it
                    j = rng.normal(0, 0.15, 4) * np.array([w, h, w, h])
                    dets.append(
                        dict(
                            image_id=img_id,
                            category_id=int(c),
                            bbox=[float(v) for v in np.array(box) + j],
                            score=float(rng.uniform(0.3, 1)),
                        )
                    )
        for _ in range(rng.integers(2, 6)):  # stray detections of random categories
            w, h = rng.uniform(8, 60), rng.uniform(8, 60)
            dets.append(
                dict(
                    image_id=img_id,
                    category_id=int(rng.integers(1, num_cats + 1)),
                    bbox=[float(rng.uniform(0, 140)), float(rng.uniform(0, 100)), float(w), float(h)],
                    score=float(rng.uniform(0, 1)),
                )
            )
    gt = dict(images=images, annotations=anns, categories=cats)
    return gt, dets


@pytest.mark.parametrize("case", sorted(LVIS_API))
def test_equals_the_lvis_packages_evaluation(case):
    seed, iou_type = case.split("_")
    gt, dets = _random_case(int(seed))
    if iou_type == "segm":
        for d in dets:
            x, y, w, h = d["bbox"]
            d["segmentation"] = [[x, y, x + w, y, x + w, y + h, x, y + h]]
    coco = COCO()
    coco.dataset = gt
    coco.createIndex()
    res, _ = run_lvis_eval(coco, dets, iou_type)
    assert res == pytest.approx(LVIS_API[case], abs=1e-12)
