"""The error breakdown on hand-made results whose every error is known: one of each kind lands in
its bin, the AP50 agrees with pycocotools', and fixing each kind adds what it should."""

import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmcascade.analysis.coco_errors import ERRORS, error_breakdown, pr_curves


def _coco(anns: list[dict]) -> COCO:
    coco = COCO()
    coco.dataset = dict(
        images=[dict(id=1, width=400, height=400), dict(id=2, width=400, height=400)],
        annotations=[dict(id=i + 1, area=a["bbox"][2] * a["bbox"][3], iscrowd=0, **a) for i, a in enumerate(anns)],
        categories=[dict(id=1, name="cat", supercategory="animal"), dict(id=2, name="dog", supercategory="animal")],
    )
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


GT = [
    dict(image_id=1, category_id=1, bbox=[10, 10, 40, 40]),
    dict(image_id=1, category_id=2, bbox=[100, 100, 40, 40]),
    dict(image_id=1, category_id=1, bbox=[200, 200, 40, 40]),  # nobody finds it: missed
    dict(image_id=2, category_id=2, bbox=[50, 50, 60, 60]),
]
DETS = [
    dict(image_id=1, category_id=1, bbox=[10, 10, 40, 40], score=0.9),  # true positive
    dict(image_id=1, category_id=2, bbox=[12, 12, 40, 40], score=0.8),  # cls: on the cat, called dog
    dict(image_id=1, category_id=1, bbox=[11, 11, 40, 40], score=0.7),  # dupe of the first
    dict(image_id=1, category_id=2, bbox=[110, 110, 40, 40], score=0.6),  # loc: IoU 0.39 with its dog
    dict(image_id=1, category_id=1, bbox=[300, 300, 20, 20], score=0.5),  # bkg
    dict(image_id=1, category_id=1, bbox=[112, 108, 40, 40], score=0.4),  # both: near the dog, called cat
    dict(image_id=2, category_id=2, bbox=[50, 50, 60, 60], score=0.95),  # true positive
]


def _coco_ap50(coco: COCO, dets: list[dict]) -> float:
    with contextlib.redirect_stdout(io.StringIO()):
        ev = COCOeval(coco, coco.loadRes([dict(d) for d in dets]), "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return 100 * ev.stats[1]


def test_each_error_lands_in_its_bin():
    coco = _coco(GT)
    out = error_breakdown(coco, DETS)
    assert out.counts == dict(cls=1, loc=1, both=1, dupe=1, bkg=1, missed=1)
    assert out.ap50 == pytest.approx(_coco_ap50(coco, DETS), abs=1e-6)
    assert set(out.dap) == set(ERRORS) and all(v >= -1e-9 for v in out.dap.values())


def test_fixing_an_error_adds_what_removing_it_by_hand_adds():
    coco = _coco(GT)
    out = error_breakdown(coco, DETS)
    base = _coco_ap50(coco, DETS)
    for kind, index in (("bkg", 4), ("dupe", 2), ("both", 5)):  # the oracle drops these
        dropped = [d for i, d in enumerate(DETS) if i != index]
        assert out.dap[kind] == pytest.approx(_coco_ap50(coco, dropped) - base, abs=1e-6), kind
    # loc: the dog at 0.6 gets its ground truth's box and becomes a true positive
    moved = [dict(d, bbox=[100, 100, 40, 40]) if i == 3 else d for i, d in enumerate(DETS)]
    assert out.dap["loc"] == pytest.approx(_coco_ap50(coco, moved) - base, abs=1e-6)
    # cls: the 'dog' on the cat becomes a cat, which duplicates the true positive: dropped
    assert out.dap["cls"] == pytest.approx(_coco_ap50(coco, [d for i, d in enumerate(DETS) if i != 1]) - base, abs=1e-6)
    # missed: the cat nobody found no longer counts
    assert out.dap["missed"] == pytest.approx(_coco_ap50(_coco(GT[:2] + GT[3:]), DETS) - base, abs=1e-6)


def test_pr_curves_order_and_shapes():
    coco = _coco(GT)
    curves = pr_curves(coco, DETS)
    assert list(curves) == ["C75", "C50", "Loc", "Sim", "Oth", "BG", "FN"]
    for name, c in curves.items():
        assert c.shape == (3, 101), name
    # each curve forgives more than the one before: its area never shrinks
    areas = [np.nanmean(curves[n][-1]) for n in curves]
    assert all(b >= a - 1e-9 for a, b in zip(areas, areas[1:])), areas
    assert np.nanmean(curves["C50"][-1]) == pytest.approx(_coco_ap50(coco, DETS) / 100, abs=1e-6)
    assert np.all(curves["FN"][-1] == 1.0)
