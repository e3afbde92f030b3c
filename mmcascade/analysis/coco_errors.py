"""Why AP is what it is: a TIDE-style breakdown of detection errors and Detectron's PR-curve analysis.

:func:`error_breakdown` sorts every detection that is not a true positive (IoU >= ``fg_iou`` with an
unmatched ground truth of its class, the COCO AP50 match) into one error, tested in this order, and
every ground truth nobody found into ``missed`` (Bolya et al., *TIDE*, ECCV 2020; the figures equal
the ``tidecv`` package's on the same results):

- ``loc``: ``bg_iou`` <= IoU <= ``fg_iou`` with a ground truth of its class;
- ``cls``: IoU >= ``fg_iou`` with a ground truth of another class;
- ``dupe``: IoU >= ``fg_iou`` with a ground truth of its class that a higher-scoring detection took;
- ``bkg``: IoU <= ``bg_iou`` with every ground truth;
- ``both``: any other (near an object of another class only);
- ``missed``: a ground truth no detection found nor was near (by a ``cls`` or ``loc`` error).

Each error type's ``dAP`` is the AP50 gained (never below 0) when an oracle fixes all errors of
that type and nothing else: of the ``cls`` and ``loc`` errors near a ground truth nobody found, the
best-scoring one becomes its true positive (``cls``: in the ground truth's class) and the others are
dropped, as are those near a ground truth already found; ``both``, ``dupe`` and ``bkg`` errors are
dropped; ``missed`` ground truths are no longer counted. Unlike ``tidecv``, detections are cut as
COCOeval cuts them (``max_dets`` per image and class), crowd regions are COCOeval's, and a class
without ground truth does not count, so that the AP50 is COCOeval's.

:func:`pr_curves` gives the precision-recall curves of Detectron's analysis per category and
overall: C75, C50 (AP at IoU .75, .5), Loc (IoU .1: localisation errors forgiven), Sim and Oth
(confusions with the same supercategory, with any category forgiven), BG (background false
positives removed) and FN (every ground truth found).
"""

from __future__ import annotations

import contextlib
import copy
import io
from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmcascade.evaluation.coco_eval import coco_from_dataset, load_res

ERRORS = ("cls", "loc", "both", "dupe", "bkg", "missed")
RECALLS = np.linspace(0.0, 1.0, 101)


@dataclass
class ErrorBreakdown:
    """AP50 (percent, mean over classes with ground truth), and per error type its count and
    ``dap`` (AP50 points gained if fixed); ``per_class`` holds each class's AP50 and dAPs."""

    ap50: float
    dap: dict[str, float]
    counts: dict[str, int]
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)


def _ap(entries: list[tuple[float, bool]], num_gt: int) -> float | None:
    """COCO's 101-point interpolated AP of ``(score, is_tp)`` entries against ``num_gt``."""
    if num_gt <= 0:
        return None
    if not entries:
        return 0.0
    order = np.argsort([-s for s, _ in entries], kind="mergesort")
    tp = np.array([entries[i][1] for i in order], dtype=np.float64)
    tps, fps = np.cumsum(tp), np.cumsum(1 - tp)
    recall = tps / num_gt
    precision = tps / np.maximum(tps + fps, np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1]  # the envelope
    idx = np.searchsorted(recall, RECALLS, side="left")
    return float(np.mean([precision[i] if i < len(precision) else 0.0 for i in idx]))


def _iou(dets: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """``(D, G)`` IoU of xywh boxes, as COCOeval computes it."""
    if len(dets) == 0 or len(gts) == 0:
        return np.zeros((len(dets), len(gts)))
    return np.asarray(mask_utils.iou(dets.tolist(), gts.tolist(), [0] * len(gts))).reshape(len(dets), len(gts))


def error_breakdown(
    coco: COCO, results: list[dict], fg_iou: float = 0.5, bg_iou: float = 0.1, max_dets: int = 100
) -> ErrorBreakdown:
    """Classify the errors of COCO-format box ``results`` against ``coco`` (see the module's text).

    Crowd ground truth is left out, and a detection mostly inside a crowd region of its class
    (intersection over its own area >= ``fg_iou``) is neither right nor wrong, as in COCOeval.
    """
    cat_ids = sorted(coco.getCatIds())
    images = {i: _image_gt(coco, i) for i in sorted(coco.getImgIds())}
    dets = _top_dets(coco, results, cat_ids, max_dets, images, fg_iou)
    outcome, taken = _match(images, dets, fg_iou)
    errors: dict[int, tuple[str, int | None]] = {}
    best: dict[tuple[int, int], int] = {}  # a free ground truth -> its best-scoring cls / loc error
    for k, det in enumerate(dets):
        if outcome[k]:
            continue
        gt_boxes, gt_cls = images[det["image_id"]]
        ious = _iou(np.array([det["bbox"]], dtype=np.float64), gt_boxes)[0]
        kind, target = _error_kind(ious, gt_cls, det["category_id"], fg_iou, bg_iou)
        errors[k] = (kind, target)
        if target is not None and (det["image_id"], target) not in taken:
            best.setdefault((det["image_id"], target), k)  # best score first: the first one wins
    missed = {(i, g) for i, (boxes, _) in images.items() for g in range(len(boxes))} - taken - set(best)
    base = _mean_ap(_entries(dets, outcome, errors, best, images, None), images, set(), cat_ids)
    dap, per_class = {}, {name: dict(ap50=ap) for name, ap in _per_class(coco, base[1]).items()}
    for kind in ERRORS:
        if kind == "missed":
            fixed = _mean_ap(_entries(dets, outcome, errors, best, images, None), images, missed, cat_ids)
        else:
            fixed = _mean_ap(_entries(dets, outcome, errors, best, images, kind), images, set(), cat_ids)
        dap[kind] = max(fixed[0] - base[0], 0.0)
        for name, ap in _per_class(coco, fixed[1]).items():
            if name in per_class:
                per_class[name][kind] = ap - per_class[name]["ap50"]
    counts = {k: sum(1 for e in errors.values() if e[0] == k) for k in ERRORS[:-1]}
    counts["missed"] = len(missed)
    return ErrorBreakdown(ap50=base[0], dap=dap, counts=counts, per_class=per_class)


def _entries(
    dets: list[dict], outcome: list, errors: dict, best: dict, images: dict, fix: str | None
) -> dict[int, list[tuple[float, bool]]]:
    """Per class the ``(score, is_tp)`` entries, with every error of kind ``fix`` fixed by the
    oracle: a ``cls`` or ``loc`` error that is the best-scoring one near a free ground truth becomes
    a true positive (of the ground truth's class for ``cls``), any other is dropped, as is every
    ``both``, ``dupe`` and ``bkg`` error."""
    entries: dict[int, list[tuple[float, bool]]] = {}
    for k, det in enumerate(dets):
        cls, hit = det["category_id"], bool(outcome[k])
        kind, target = errors.get(k, (None, None))
        if kind is not None and kind == fix:
            if target is None or best.get((det["image_id"], target)) != k:
                continue
            hit = True
            if kind == "cls":
                cls = int(images[det["image_id"]][1][target])
        entries.setdefault(cls, []).append((det["score"], hit))
    return entries


def _image_gt(coco: COCO, img_id: int) -> tuple[np.ndarray, np.ndarray]:
    """``(G, 4)`` xywh boxes and ``(G,)`` classes of an image's non-crowd ground truth."""
    anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=[img_id])) if not a.get("iscrowd", 0)]
    return (
        np.array([a["bbox"] for a in anns], dtype=np.float64).reshape(-1, 4),
        np.array([a["category_id"] for a in anns], dtype=np.int64),
    )


def _top_dets(
    coco: COCO, results: list[dict], cat_ids: list[int], max_dets: int, images: dict, fg_iou: float
) -> list[dict]:
    """COCOeval's cut (the best ``max_dets`` per image and class), without the detections on
    crowd regions of their class (intersection over the detection >= ``fg_iou``); best first."""
    by_key: dict[tuple[int, int], list[dict]] = {}
    for det in results:
        if det["image_id"] in images and det["category_id"] in cat_ids:
            by_key.setdefault((det["image_id"], det["category_id"]), []).append(det)
    kept = []
    for (img_id, cat), group in by_key.items():
        crowd = [a["bbox"] for a in coco.loadAnns(coco.getAnnIds(imgIds=[img_id], catIds=[cat], iscrowd=True))]
        for det in sorted(group, key=lambda d: -d["score"])[:max_dets]:
            if crowd and np.max(mask_utils.iou([det["bbox"]], crowd, [1] * len(crowd))) >= fg_iou:
                continue
            kept.append(det)
    return sorted(kept, key=lambda d: -d["score"])


def _match(images: dict, dets: list[dict], fg_iou: float) -> tuple[list[bool], set[tuple[int, int]]]:
    """COCO's greedy AP50 match, best score first: per detection whether it is a true positive,
    and the ``(image id, index)`` of the ground truths taken."""
    outcome: list[bool] = []
    taken: set[tuple[int, int]] = set()
    for det in dets:
        gt_boxes, gt_cls = images[det["image_id"]]
        ious = _iou(np.array([det["bbox"]], dtype=np.float64), gt_boxes)[0]
        free = [g for g in range(len(gt_cls)) if gt_cls[g] == det["category_id"] and (det["image_id"], g) not in taken]
        best = max(free, key=lambda g: ious[g], default=None)
        hit = bool(best is not None and ious[best] >= fg_iou)
        if hit:
            taken.add((det["image_id"], best))
        outcome.append(hit)
    return outcome, taken


def _mean_ap(entries: dict, images: dict, excluded: set, cat_ids: list[int]) -> tuple[float, dict[int, float]]:
    """Mean AP50 (percent) over the classes with ground truth not in ``excluded``, and each one's."""
    num_gt = {c: 0 for c in cat_ids}
    for img_id, (_, gt_cls) in images.items():
        for g, c in enumerate(gt_cls):
            if (img_id, g) not in excluded:
                num_gt[int(c)] += 1
    aps = {c: _ap(entries.get(c, []), num_gt[c]) for c in cat_ids}
    valid = {c: 100 * a for c, a in aps.items() if a is not None}
    return (float(np.mean(list(valid.values()))) if valid else 0.0), valid


def _per_class(coco: COCO, aps: dict[int, float]) -> dict[str, float]:
    return {c["name"]: aps[c["id"]] for c in coco.loadCats(sorted(aps))}


def _error_kind(ious: np.ndarray, gt_cls: np.ndarray, c: int, fg: float, bg: float) -> tuple[str, int | None]:
    """The error of a detection of class ``c`` that is no true positive, and the ground truth it
    concerns (for ``cls`` and ``loc``), tested in TIDE's order: loc, cls, dupe, bkg, both."""
    if len(ious) == 0:
        return "bkg", None
    same, other = np.where(gt_cls == c, ious, 0.0), np.where(gt_cls != c, ious, 0.0)
    if bg <= same.max() <= fg:
        return "loc", int(same.argmax())
    if other.max() >= fg:
        return "cls", int(other.argmax())
    if same.max() >= fg:
        return "dupe", None  # its ground truth was taken by a higher score
    if ious.max() <= bg:
        return "bkg", None
    return "both", None


def pr_curves(coco: COCO, results: list[dict], max_dets: int = 100) -> dict[str, np.ndarray]:
    """Detectron's analysis curves: name -> ``(K + 1, 101)`` precision at the 101 recall points,
    one row per category (``coco.getCatIds()`` order) and the last their mean; entries with no
    ground truth are NaN. Names: C75, C50, Loc, Sim (only when the categories have a
    ``supercategory``), Oth, BG, FN."""
    cat_ids = sorted(coco.getCatIds())
    dets = load_res(coco, copy.deepcopy(results)) if results else None
    base = _precision(coco, dets, [0.75, 0.5, 0.1], max_dets)
    curves = {"C75": base[0], "C50": base[1], "Loc": base[2]}
    cats = coco.loadCats(cat_ids)
    groups = {"Oth": lambda a, b: True}
    if all(c.get("supercategory") for c in cats):
        sup = {c["id"]: c["supercategory"] for c in cats}
        groups = {"Sim": lambda a, b: sup[a] == sup[b], **groups}
    for name, related in groups.items():
        rows = []
        for cat in cat_ids:
            forgiving = _forgiving_gt(coco, cat, lambda other, cat=cat, related=related: related(cat, other))
            rows.append(_precision(forgiving, _only(dets, cat, forgiving), [0.1], max_dets, [cat])[0][0])
        curves[name] = np.vstack(rows)
    last = curves["Oth"]
    curves["BG"] = np.where(np.isnan(last), np.nan, (last > 0).astype(np.float64))
    curves["FN"] = np.where(np.isnan(last), np.nan, 1.0)
    return {name: np.vstack([c, _nanmean_rows(c)]) for name, c in curves.items()}


def _nanmean_rows(rows: np.ndarray) -> np.ndarray:
    valid = rows[~np.isnan(rows).all(axis=1)]
    return valid.mean(axis=0) if len(valid) else np.full(rows.shape[1], np.nan)


def _precision(coco: COCO, dets, ious: list[float], max_dets: int, cat_ids: list[int] | None = None) -> np.ndarray:
    """``(T, K, 101)`` COCOeval precision (all areas, ``max_dets``), NaN where a category has no
    ground truth."""
    cat_ids = cat_ids or sorted(coco.getCatIds())
    if dets is None:
        return np.where(_has_gt(coco, cat_ids)[None, :, None], 0.0, np.nan) * np.ones((len(ious), 1, 101))
    ev = COCOeval(coco, dets, "bbox")
    ev.params.iouThrs = np.array(ious)
    ev.params.maxDets = [max_dets]
    ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]
    ev.params.catIds = cat_ids
    with contextlib.redirect_stdout(io.StringIO()):
        ev.evaluate()
        ev.accumulate()
    p = ev.eval["precision"][:, :, :, 0, 0].transpose(0, 2, 1)  # (T, K, R)
    return np.where(p < 0, np.nan, p)


def _has_gt(coco: COCO, cat_ids: list[int]) -> np.ndarray:
    return np.array([len(coco.getAnnIds(catIds=[c], iscrowd=False)) > 0 for c in cat_ids])


def _forgiving_gt(coco: COCO, cat: int, related) -> COCO:
    """The ground truth where the related other categories' objects become crowd regions of
    ``cat`` (a detection on them is then neither right nor wrong)."""
    data = copy.deepcopy(coco.dataset)
    for ann in data["annotations"]:
        if ann["category_id"] != cat and related(ann["category_id"]):
            ann["category_id"], ann["iscrowd"] = cat, 1
    return coco_from_dataset(data)


def _only(dets, cat: int, gt: COCO):
    if dets is None:
        return None
    anns = [a for a in dets.dataset["annotations"] if a["category_id"] == cat]
    if not anns:
        return None
    return load_res(gt, copy.deepcopy(anns))


CURVE_COLORS = {
    "C75": "#ffffff",
    "C50": "#5b9bd5",
    "Loc": "#70ad47",
    "Sim": "#ffc000",
    "Oth": "#ed7d31",
    "BG": "#a5a5a5",
    "FN": "#c00000",
}


def plot_pr_curves(curves: dict[str, np.ndarray], row: int, title: str, out_file: str) -> None:
    """Detectron's picture of one category (``row``) or, with ``row=-1``, all: each curve's area
    filled down to the one before, its AP in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.2))
    below = np.zeros_like(RECALLS)
    for name, rows in curves.items():
        line = np.nan_to_num(rows[row])
        ax.plot(RECALLS, line, color="black", linewidth=0.5)
        ax.fill_between(
            RECALLS, below, line, color=CURVE_COLORS.get(name, "#dddddd"), label=f"[{line.mean():.3f}] {name}"
        )
        below = line
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="recall", ylabel="precision", title=title)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)


def plot_breakdown(breakdown: ErrorBreakdown, out_file: str) -> None:
    """Bars of the AP50 each error type would add if fixed, with the count of each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    values = [breakdown.dap[k] for k in ERRORS]
    bars = ax.bar(ERRORS, values, color=["#5b9bd5", "#70ad47", "#ffc000", "#ed7d31", "#a5a5a5", "#c00000"])
    for bar, kind in zip(bars, ERRORS):
        ax.annotate(
            f"{bar.get_height():.1f}\n({breakdown.counts[kind]})",
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_ylabel("AP50 gained if fixed")
    ax.set_title(f"Errors of AP50 {breakdown.ap50:.1f} (count in brackets)", fontsize=10)
    ax.set_ylim(0, max(values + [1.0]) * 1.3)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
