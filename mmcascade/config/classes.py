"""One place for a config's classes: the top-level ``classes`` key, and the checks that every
box / mask head and every dataset agree on how many there are.

A config that fine-tunes a zoo model on its own data names its classes once::

    _base_ = '../cascade_rcnn/cascade_mask_rcnn_r50_fpn_1x_coco.py'
    classes = ('cat', 'dog', 'bird')

and :func:`apply_classes` (run by every tool when it reads a config) sets ``num_classes`` of
each stage's box and mask head and ``metainfo.classes`` of the train / val / test datasets.
"""

from collections.abc import Iterator, Mapping, Sequence

from mmengine.config import Config, ConfigDict

from mmcascade.registry import DATASETS

LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


class ClassesMismatchError(ValueError):
    """The heads of a model, or the model and a dataset, disagree on the number of classes."""


def _as_list(node) -> list:
    if node is None:
        return []
    return list(node) if isinstance(node, (list, tuple)) else [node]


def head_num_classes(model_cfg: Mapping, path: str = "model") -> list[tuple[str, int]]:
    """``(config key, num_classes)`` of every box and mask head of a model config."""
    roi = model_cfg.get("roi_head") or {}
    out = []
    for kind in ("bbox_head", "mask_head"):
        node = roi.get(kind)
        heads = _as_list(node)
        for i, head in enumerate(heads):
            if isinstance(head, Mapping) and "num_classes" in head:
                key = f"{path}.roi_head.{kind}" + (f"[{i}]" if isinstance(node, (list, tuple)) else "")
                out.append((f"{key}.num_classes", int(head["num_classes"])))
    return out


def check_heads_agree(heads: Sequence[tuple[str, int]]) -> int | None:
    """The common class count of ``heads`` (pairs of key and count), or None without heads.

    Raises:
        ClassesMismatchError: naming every key and its count when they differ.
    """
    counts = {n for _, n in heads}
    if len(counts) > 1:
        listing = ", ".join(f"{k}={n}" for k, n in heads)
        raise ClassesMismatchError(
            f"the box and mask heads disagree on the number of classes: {listing}. Every stage "
            f"predicts the same classes; set them all (the top-level config key `classes = (...)` "
            f"sets every head and dataset at once)"
        )
    return counts.pop() if counts else None


def _datasets(cfg: Mapping) -> Iterator[tuple[str, dict]]:
    """``(config key, dataset dict)`` of each dataloader's dataset, through wrapper datasets."""
    for loader in LOADERS:
        node, key = (cfg.get(loader) or {}).get("dataset"), f"{loader}.dataset"
        while isinstance(node, Mapping):
            yield key, node
            if "dataset" not in node:
                break
            node, key = node["dataset"], f"{key}.dataset"


def dataset_classes(dataset: Mapping) -> tuple[str, ...] | None:
    """Class names a dataset config declares: its ``metainfo.classes``, else its type's default."""
    meta = dataset.get("metainfo") or {}
    if meta.get("classes"):
        return tuple(meta["classes"])
    dataset_type = dataset.get("type")
    dataset_cls = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else None
    classes = getattr(dataset_cls, "METAINFO", {}).get("classes") if dataset_cls else None
    return tuple(classes) if classes else None


def apply_classes(cfg: Config) -> Config:
    """Spread a top-level ``classes = (...)`` into every box / mask head (``num_classes``) and
    every dataset (``metainfo.classes``; a palette given there is kept). Modifies and returns
    ``cfg``; a config without ``classes`` is left as it is."""
    classes = cfg.get("classes")
    if classes is None:
        return cfg
    if isinstance(classes, str) or not all(isinstance(c, str) for c in classes) or not classes:
        raise ClassesMismatchError(f"the config key `classes` must be a non-empty tuple of names, got {classes!r}")
    classes = tuple(classes)
    for section in ("model", "tta_model"):
        model = cfg.get(section)
        while isinstance(model, Mapping):
            roi = model.get("roi_head") or {}
            for kind in ("bbox_head", "mask_head"):
                for head in _as_list(roi.get(kind)):
                    head["num_classes"] = len(classes)
            model = model.get("module")
    for _, dataset in _datasets(cfg):
        if "dataset" in dataset:  # a wrapper: its inner dataset carries the classes
            continue
        meta = dataset.get("metainfo") or ConfigDict()
        meta["classes"] = classes
        dataset["metainfo"] = meta
    return cfg


def check_config_classes(cfg: Mapping) -> None:
    """Check, before anything is built, that the heads agree and that every dataset declares as
    many classes as the heads predict.

    Raises:
        ClassesMismatchError: naming the config keys and counts that disagree.
    """
    heads = head_num_classes(cfg.get("model") or {})
    expected = check_heads_agree(heads)
    if expected is None:
        return
    for key, dataset in _datasets(cfg):
        if "dataset" in dataset:
            continue
        classes = dataset_classes(dataset)
        if classes is not None and len(classes) != expected:
            shown = ", ".join(classes[:5]) + (", ..." if len(classes) > 5 else "")
            raise ClassesMismatchError(
                f"{key} declares {len(classes)} classes ({shown}), but the model's heads predict "
                f"{expected} ({heads[0][0]}={expected}). Set `classes = (...)` at the top of the "
                f"config to set the heads and every dataset at once, or set {key}.metainfo.classes"
            )


def config_class_names(cfg: Mapping) -> tuple[str, ...] | None:
    """Class names the config's test dataset declares (its ``metainfo`` or its type's default)."""
    dataset = cfg.get("test_dataloader", {}).get("dataset", {})
    meta = dataset.get("metainfo") or {}
    if meta.get("classes"):
        return tuple(meta["classes"])
    dataset_cls = DATASETS.get(dataset.get("type", "")) if dataset.get("type") else None
    classes = getattr(dataset_cls, "METAINFO", {}).get("classes")
    return tuple(classes) if classes else None
