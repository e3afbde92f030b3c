"""Load published or locally trained checkpoints safely (``torch.load(weights_only=True)``)."""

import os
import pickle
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn as nn
from mmengine.logging import MMLogger

from .safe_unpickle import enable_safe_checkpoints
from .swin import is_swin_official_detector, swin_official_detector_to_mmdet


class CheckpointError(RuntimeError):
    """A checkpoint could not be read or does not fit the model."""


@dataclass(frozen=True)
class KeyMismatch:
    """How a state_dict differs from a model's."""

    missing: list[str]
    unexpected: list[str]
    wrong_shape: list[tuple[str, tuple, tuple]]  # (key, checkpoint shape, model shape)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.wrong_shape)

    def describe(self, limit: int = 20) -> str:
        lines = []
        for title, items in (
            ("missing in checkpoint", self.missing),
            ("unexpected in checkpoint", self.unexpected),
            ("wrong shape (checkpoint vs model)", self.wrong_shape),
        ):
            if items:
                shown = [str(i) for i in items[:limit]]
                more = f" ... and {len(items) - limit} more" if len(items) > limit else ""
                lines.append(f"{len(items)} key(s) {title}: " + ", ".join(shown) + more)
        return "\n".join(lines)


_ZIP_MAGIC = b"PK\x03\x04"  # torch.save's default format since PyTorch 1.6
_PICKLE_MAGIC = b"\x80"  # the legacy format: a pickle (protocol 2 or higher)


def check_checkpoint_format(path: str) -> None:
    """Refuse, naming what the file is instead, a file that is not a PyTorch checkpoint at all
    (a text or json file, an image, an ONNX file, a Detectron ``.pkl`` of another layout...).

    Raises:
        CheckpointError: the file is missing, empty or of another format.
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such checkpoint file")
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC):
        return
    if not head:
        kind = "an empty file"
    elif path.endswith(".onnx"):
        kind = "an ONNX file (run it with --backend onnxruntime or openvino)"
    elif head.lstrip()[:1] in (b"{", b"["):
        kind = "a JSON / text file"
    else:
        kind = f"a file starting with {head[:8]!r}"
    raise CheckpointError(
        f"{path}: not a PyTorch checkpoint (torch.save writes a zip archive or a pickle); this is {kind}"
    )


def read_checkpoint(path: str, map_location=None) -> dict:
    """Read a checkpoint file without executing pickled code (tensors onto ``map_location``,
    default the CPU).

    Raises:
        CheckpointError: the file needs arbitrary Python objects (it could run code) or is
            not a checkpoint.
    """
    enable_safe_checkpoints()  # our own checkpoints' message hub is plain data
    check_checkpoint_format(path)
    try:
        ckpt = torch.load(path, map_location=map_location or "cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"{path}: refused: the file holds Python objects other than tensors and plain "
            f"containers, and loading them could execute code. If you trust its source, load it "
            f"yourself with torch.load(weights_only=False) and re-save only its 'state_dict' and "
            f"'meta'. ({exc})"
        ) from exc
    except (RuntimeError, OSError, EOFError) as exc:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint: {exc}") from exc
    if not isinstance(ckpt, Mapping):
        raise CheckpointError(f"{path}: expected a dict checkpoint, got {type(ckpt).__name__}")
    return _in_our_layout(dict(ckpt), path)


def _in_our_layout(ckpt: dict, path: str) -> dict:
    """``ckpt`` with a whole detector saved by Swin Transformer's detection repository converted
    to MMDetection 3's layout (its published cascade checkpoints); other checkpoints unchanged."""
    bare = "state_dict" not in ckpt
    state = ckpt if bare else ckpt["state_dict"]
    if not (isinstance(state, Mapping) and is_swin_official_detector(state)):
        return ckpt
    MMLogger.get_current_instance().info(f"{path}: Swin Transformer's detection layout, converted")
    converted = swin_official_detector_to_mmdet(dict(state))
    return converted if bare else {**ckpt, "state_dict": converted}


def extract_state_dict(ckpt: Mapping) -> dict[str, torch.Tensor]:
    """The ``state_dict`` of a checkpoint (or the dict itself for bare state dicts), with a
    ``module.`` prefix from (Distributed)DataParallel removed."""
    state = ckpt.get("state_dict", ckpt)
    return {(k[7:] if k.startswith("module.") else k): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def class_names_from_meta(ckpt: Mapping) -> tuple[str, ...] | None:
    """Class names stored in a checkpoint: v2.0 ``meta['CLASSES']`` or ``meta['dataset_meta']['classes']``."""
    meta = ckpt.get("meta") or {}
    if meta.get("dataset_meta", {}).get("classes"):
        return tuple(meta["dataset_meta"]["classes"])
    if meta.get("CLASSES"):
        return tuple(meta["CLASSES"])
    return None


def compare_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor]) -> KeyMismatch:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [
        (k, tuple(state[k].shape), tuple(own[k].shape))
        for k in sorted(set(own) & set(state))
        if tuple(state[k].shape) != tuple(own[k].shape)
    ]
    return KeyMismatch(missing, unexpected, wrong)


def install_state_dict(
    model: nn.Module, state: Mapping[str, torch.Tensor], source: str, strict: bool = True
) -> KeyMismatch:
    """Copy ``state`` into ``model``; with ``strict`` any key or shape difference is an error
    that lists every difference (and says so when the class count is what differs).

    Raises:
        CheckpointError: naming ``source``.
    """
    mismatch = compare_state_dict(model, state)
    if strict and not mismatch.ok:
        hint = ""
        if any(k.endswith("fc_cls.weight") for k, _, _ in mismatch.wrong_shape):
            key, got, want = next(w for w in mismatch.wrong_shape if w[0].endswith("fc_cls.weight"))
            hint = (
                f"\nThe classifier {key} has {got[0]} outputs in the checkpoint and {want[0]} in "
                f"the model: the checkpoint was trained on {got[0] - 1} classes, the config "
                f"declares {want[0] - 1}. Use the checkpoint's own config or set num_classes."
            )
        raise CheckpointError(f"{source} does not fit {type(model).__name__}:\n{mismatch.describe()}{hint}")
    usable = {
        k: v for k, v in state.items() if k not in mismatch.unexpected and k not in {w[0] for w in mismatch.wrong_shape}
    }
    model.load_state_dict(usable, strict=False)
    return mismatch


def load_checkpoint(model: nn.Module, path: str, strict: bool = True) -> dict:
    """Load ``path`` into ``model``; returns the checkpoint's ``meta`` (with ``classes`` added
    when the file records them).

    Raises:
        CheckpointError: when ``strict`` and the keys or shapes differ, listing every difference.
    """
    ckpt = read_checkpoint(path)
    install_state_dict(model, extract_state_dict(ckpt), path, strict)
    meta = dict(ckpt.get("meta") or {})
    classes = class_names_from_meta(ckpt)
    if classes is not None:
        meta["classes"] = classes
    return meta
