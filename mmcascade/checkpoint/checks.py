"""Checks of a checkpoint against a config or model before a run starts: class counts, coverage
of the model's weights, finite values; and what fine-tuning re-initialises."""

import warnings
from collections.abc import Mapping, Sequence

import torch
import torch.nn as nn

from .reading import CheckpointError, class_names_from_meta, compare_state_dict, extract_state_dict, read_checkpoint


def config_num_classes(model_cfg: Mapping) -> int | None:
    """Foreground classes the config's (last) box head predicts, read from the config dict."""
    roi = model_cfg.get("roi_head") or {}
    heads = roi.get("bbox_head")
    head = heads[-1] if isinstance(heads, (list, tuple)) else heads
    return int(head["num_classes"]) if head and "num_classes" in head else None


def check_checkpoint_classes(path: str, model_cfg: Mapping, classes: Sequence[str] | None = None) -> None:
    """Fail early, before a test run, when ``path`` was trained for another number of classes
    than ``model_cfg`` declares (from its recorded class names or its classifier's shape), or,
    given the config's ``classes``, for the same classes in another order (every score would be
    credited to another class).

    Raises:
        CheckpointError: explaining the mismatch and what to change.
    """
    expected = config_num_classes(model_cfg)
    if expected is None:
        return
    ckpt = read_checkpoint(path)
    names = class_names_from_meta(ckpt)
    cls = [v for k, v in extract_state_dict(ckpt).items() if k.endswith("fc_cls.weight")]
    found = len(names) if names is not None else (cls[-1].shape[0] - 1 if cls else None)
    if found is not None and found != expected:
        raise CheckpointError(classes_mismatch(path, found, expected, names))
    if names is not None and classes is not None:
        check_class_order(path, names, classes)


def check_class_order(path: str, names: Sequence[str], classes: Sequence[str]) -> None:
    """Refuse a checkpoint whose class names are the config's in another order, naming the first
    difference and the converter that reorders the classifier.

    Raises:
        CheckpointError
    """
    if list(names) == list(classes) or sorted(names) != sorted(classes):
        return
    i = next(i for i, (a, b) in enumerate(zip(names, classes)) if a != b)
    raise CheckpointError(
        f"{path}: its classes are the config's in another order: class {i} is {names[i]!r} in the "
        f"checkpoint and {classes[i]!r} in the config, so every result would be credited to another "
        "class. Reorder the checkpoint's classifier to the config's order with "
        f"`mmcascade convert remap_classes {path} CONFIG OUT.pth`, or give the config the checkpoint's order"
    )


def classes_mismatch(source: str, found: int, expected: int, names: Sequence[str] | None = None) -> str:
    """The explanation given when a checkpoint's class count differs from the config's."""
    shown = f" ({', '.join(list(names)[:5])}...)" if names else ""
    return (
        f"{source} was trained on {found} classes{shown}, but the config's box heads predict "
        f"{expected}. Use the config the checkpoint was trained with, or set num_classes={found} "
        f"in every bbox_head / mask_head of the config (and the dataset's metainfo classes)."
    )


def class_change_note(path: str, model_cfg: Mapping) -> str | None:
    """For ``load_from`` when fine-tuning: which classifier layers of the checkpoint have another
    number of classes than ``model_cfg`` (they keep their fresh initialisation; everything else
    is loaded), as a message; None when the class counts agree."""
    expected = config_num_classes(model_cfg)
    if expected is None:
        return None
    state = extract_state_dict(read_checkpoint(path))
    changed = [
        (k, tuple(v.shape))
        for k, v in state.items()
        if (k.endswith("fc_cls.weight") and v.shape[0] != expected + 1)
        or (k.endswith("conv_logits.weight") and v.shape[0] not in (1, expected))
    ]
    if not changed:
        return None
    found = changed[0][1][0] - (1 if changed[0][0].endswith("fc_cls.weight") else 0)
    layers = ", ".join(k.rsplit(".", 1)[0] for k, _ in changed)
    return (
        f"load_from {path}: the checkpoint predicts {found} classes, this config {expected}. "
        f"The classifier layers {layers} (weights and biases) are re-initialised; every other "
        f"weight is loaded from the checkpoint (fine-tuning)."
    )


def check_checkpoint_covers(model: nn.Module, path: str) -> None:
    """Refuse, before a test run, a checkpoint that leaves part of ``model`` at its random
    initialisation (e.g. a Mask R-CNN checkpoint for a Cascade config) or has other shapes.
    Keys the model does not have only warn.

    Raises:
        CheckpointError: with the missing / wrongly shaped key summary.
    """
    mismatch = compare_state_dict(model, extract_state_dict(read_checkpoint(path)))
    if mismatch.missing or mismatch.wrong_shape:
        raise CheckpointError(
            f"{path} does not cover the model built from the config (testing it would evaluate "
            f"randomly initialised layers):\n{mismatch.describe()}\nUse the config the checkpoint "
            f"was trained with."
        )
    if mismatch.unexpected:
        warnings.warn(
            f"{path}: {len(mismatch.unexpected)} key(s) the model does not use are ignored: "
            f"{', '.join(mismatch.unexpected[:5])}",
            stacklevel=2,
        )


def check_finite_weights(path: str) -> None:
    """Refuse, before a test run, a checkpoint with NaN or infinite weights (a diverged run):
    it would give no detections and every metric 0, which reads like a result.

    Raises:
        CheckpointError: naming the first tensors that hold non-finite values and how many.
    """
    state = extract_state_dict(read_checkpoint(path))
    bad = [
        (k, int((~torch.isfinite(v)).sum()), v.numel())
        for k, v in state.items()
        if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())
    ]
    if bad:
        listed = ", ".join(f"{k} ({n} of {total} values)" for k, n, total in bad[:3])
        raise CheckpointError(
            f"{path}: {len(bad)} weight tensor(s) hold NaN or infinite values: {listed}"
            f"{' ...' if len(bad) > 3 else ''}. The run that wrote it diverged; test an earlier checkpoint."
        )
