"""Convert Detectron (Caffe2) pickles into our state_dict layout.

Detectron saves ``{'blobs': {name: ndarray}, 'cfg': ...}`` as a Python 2 pickle. Blob names
follow its builders: ``conv1_w``, ``res_conv1_bn_{s,b}``, ``res{2..5}_{i}_branch2{a,b,c}_w``
(+ ``_bn_{s,b}``), ``res{s}_0_branch1_w`` (shortcut), ``fpn_inner_res5_2_sum`` /
``fpn_inner_res4_5_sum_lateral`` / ``fpn_res4_5_sum`` (FPN), ``conv_rpn_fpn2``,
``rpn_cls_logits_fpn2``, ``rpn_bbox_pred_fpn2`` (RPN shared over levels), ``fc6``, ``fc7``,
``cls_score``, ``bbox_pred`` (box head), ``_[mask]_fcn{1..4}``, ``conv5_mask``,
``mask_fcn_logits`` (mask head); ``_w`` / ``_b`` suffixes are weight / bias.

Differences handled here: AffineChannel (``_bn_s`` scale, ``_bn_b`` shift, no statistics) becomes
a frozen BatchNorm with mean 0 and variance ``1 - eps`` (exactly the same affine map); Detectron
puts background at class 0 and has 4 background regression outputs, we put it last and have
none. Differences not handled (conventions, documented in docs/detectron_conversion.md):
Detectron's ``+1`` box widths, anchor centres and its pixel means.
"""

import pickle
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .upgrade import background_last

_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
    ("collections", "OrderedDict"),
}
_SKIP = re.compile(r"(_momentum$|^__|^pred_[wb]$|^fc1000_[wb]$|^lr$|^iter$)")


class ConversionError(ValueError):
    """A Detectron pickle is unsafe, malformed or does not fit the target model."""


class _BlobUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise ConversionError(
            f"refused to unpickle {module}.{name}: a Detectron weights file holds "
            f"only numpy arrays, anything else could execute code"
        )


def read_detectron_blobs(path: str | Path) -> dict[str, np.ndarray]:
    """The weight blobs of a Detectron ``.pkl`` (only numpy arrays are unpickled)."""
    with open(path, "rb") as f:
        try:
            data = _BlobUnpickler(f, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError) as exc:
            raise ConversionError(f"{path}: not a Detectron pickle: {exc}") from exc
    blobs = data.get("blobs", data) if isinstance(data, Mapping) else None
    if not isinstance(blobs, Mapping):
        raise ConversionError(f"{path}: expected a dict of blobs, got {type(data).__name__}")
    return {k: v for k, v in blobs.items() if isinstance(v, np.ndarray) and not _SKIP.search(k)}


def _affine_to_bn(prefix: str, scale: np.ndarray, shift: np.ndarray, eps: float) -> dict[str, torch.Tensor]:
    n = scale.shape[0]
    return {
        f"{prefix}.weight": torch.from_numpy(scale.astype(np.float32)),
        f"{prefix}.bias": torch.from_numpy(shift.astype(np.float32)),
        f"{prefix}.running_mean": torch.zeros(n),
        f"{prefix}.running_var": torch.full((n,), 1.0 - eps),
        f"{prefix}.num_batches_tracked": torch.tensor(0),
    }


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def backbone_name_map(name: str) -> tuple[str, str] | None:
    """Our key prefix and parameter kind for a Detectron backbone blob, e.g.
    ``res3_1_branch2b_bn_s`` → (``layer2.1.bn2``, ``bn_s``); None for non-backbone blobs."""
    if name == "conv1_w":
        return "conv1", "w"
    if name in ("res_conv1_bn_s", "res_conv1_bn_b"):
        return "bn1", "bn_" + name[-1]
    m = re.fullmatch(r"res([2-5])_(\d+)_branch(1|2a|2b|2c)_(w|bn_s|bn_b)", name)
    if not m:
        return None
    stage, block, branch, kind = m.groups()
    layer = f"layer{int(stage) - 1}.{block}"
    if branch == "1":
        return f"{layer}.downsample.{0 if kind == 'w' else 1}", kind
    index = {"2a": 1, "2b": 2, "2c": 3}[branch]
    return f"{layer}.{'conv' if kind == 'w' else 'bn'}{index}", kind


def convert_backbone(blobs: Mapping[str, np.ndarray], prefix: str = "", eps: float = 1e-5) -> dict:
    """ResNet / ResNeXt blobs → our ResNet state_dict (keys prefixed by ``prefix``)."""
    state: dict[str, torch.Tensor] = {}
    for name, array in blobs.items():
        mapped = backbone_name_map(name)
        if mapped is None:
            continue
        key, kind = mapped
        if kind == "w":
            state[f"{prefix}{key}.weight"] = _tensor(array)
        elif kind == "bn_s":
            shift = blobs[name[:-1] + "b"]
            state.update(_affine_to_bn(prefix + key, array, shift, eps))
    return state


def _fpn_levels(blobs: Mapping[str, np.ndarray]) -> list[str]:
    """The backbone outputs FPN reads, finest first: ``['res2_2_sum', ..., 'res5_2_sum']``."""
    levels = {}
    for name in blobs:
        m = re.fullmatch(r"fpn_(res([2-5])_\d+_sum)_w", name)
        if m:
            levels[int(m.group(2))] = m.group(1)
    return [levels[s] for s in sorted(levels)]


def _wb(blobs: Mapping[str, np.ndarray], src: str, dst: str) -> dict[str, torch.Tensor]:
    return {f"{dst}.weight": _tensor(blobs[f"{src}_w"]), f"{dst}.bias": _tensor(blobs[f"{src}_b"])}


def convert_detector(blobs: Mapping[str, np.ndarray], eps: float = 1e-5) -> dict[str, torch.Tensor]:
    """A Detectron end-to-end Faster / Mask R-CNN FPN → our FasterRCNN / MaskRCNN state_dict."""
    state = convert_backbone(blobs, "backbone.", eps)
    levels = _fpn_levels(blobs)
    if len(levels) != 4:
        raise ConversionError(f"expected FPN outputs for res2..res5, found {levels}")
    for j, level in enumerate(levels):
        inner = f"fpn_inner_{level}" + ("" if j == len(levels) - 1 else "_lateral")
        state.update(_wb(blobs, inner, f"neck.lateral_convs.{j}.conv"))
        state.update(_wb(blobs, f"fpn_{level}", f"neck.fpn_convs.{j}.conv"))
    state.update(_wb(blobs, "conv_rpn_fpn2", "rpn_head.rpn_conv"))
    state.update(_wb(blobs, "rpn_cls_logits_fpn2", "rpn_head.rpn_cls"))
    state.update(_wb(blobs, "rpn_bbox_pred_fpn2", "rpn_head.rpn_reg"))
    state.update(_wb(blobs, "fc6", "roi_head.bbox_head.shared_fcs.0"))
    state.update(_wb(blobs, "fc7", "roi_head.bbox_head.shared_fcs.1"))
    state.update(_wb(blobs, "cls_score", "roi_head.bbox_head.fc_cls"))
    state.update(_wb(blobs, "bbox_pred", "roi_head.bbox_head.fc_reg"))
    if "mask_fcn_logits_w" in blobs:
        for i in range(4):
            state.update(_wb(blobs, f"_[mask]_fcn{i + 1}", f"roi_head.mask_head.convs.{i}.conv"))
        state.update(_wb(blobs, "conv5_mask", "roi_head.mask_head.upsample"))
        state.update(_wb(blobs, "mask_fcn_logits", "roi_head.mask_head.conv_logits"))
    # Detectron puts background first, as MMDetection v1 did
    return {k: background_last(k, v) for k, v in state.items()}


def detector_state_from_pkl(path: str | Path, model: nn.Module) -> dict[str, torch.Tensor]:
    """Read and convert a Detectron detector pickle for ``model`` (its BN eps is used).

    Raises:
        ConversionError: the model is a cascade (Detectron's cascade checkpoints were never
            published; the links in the author's table are baselines) or the blobs are incomplete.
    """
    if getattr(getattr(model, "roi_head", None), "num_stages", 1) > 1:
        raise ConversionError(
            f"{path}: a Detectron pickle holds a single-stage Faster / Mask R-CNN, "
            f"it cannot fill the stages of {type(model).__name__}"
        )
    bn = next((m for m in model.backbone.modules() if isinstance(m, nn.BatchNorm2d)), None)
    try:
        return convert_detector(read_detectron_blobs(path), eps=bn.eps if bn is not None else 1e-5)
    except KeyError as exc:
        raise ConversionError(f"{path}: blob {exc} missing: not an end-to-end FPN detector") from exc
