"""The official Swin Transformer checkpoints (``layers.i.blocks.j.mlp.fc1``...) in MMDetection's
layout (``stages.i.blocks.j.ffn.layers.0.0``...), and loading them into a backbone."""

import re

import torch
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor, nn

# position order of the 2x2 patch in the official merging (x[0::2, 0::2], x[1::2, 0::2],
# x[0::2, 1::2], x[1::2, 1::2]) for each position in mmcv's unfold order ((0, 0), (0, 1), (1, 0), (1, 1))
_UNFOLD_FROM_OFFICIAL = [0, 2, 1, 3]

_RENAMES = [
    (r"^patch_embed\.proj\.", "patch_embed.projection."),
    (r"^layers\.(\d+)\.blocks\.(\d+)\.attn\.", r"stages.\1.blocks.\2.attn.w_msa."),
    (r"^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc1\.", r"stages.\1.blocks.\2.ffn.layers.0.0."),
    (r"^layers\.(\d+)\.blocks\.(\d+)\.mlp\.fc2\.", r"stages.\1.blocks.\2.ffn.layers.1."),
    (r"^layers\.(\d+)\.", r"stages.\1."),
]


def _merge_order(value: Tensor) -> Tensor:
    """A patch-merging weight ``(out, 4C)`` or norm ``(4C,)`` from the official channel order
    (position-major) to mmcv's unfold order (channel-major)."""
    lead = value.shape[:-1]
    c = value.shape[-1] // 4
    grouped = value.reshape(*lead, 4, c)[..., _UNFOLD_FROM_OFFICIAL, :]
    return grouped.transpose(-1, -2).reshape(*lead, 4 * c)


def swin_official_to_mmdet(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Rename (and reorder the patch merging of) an official Swin state dict. The classifier
    (``head``), the attention masks (recomputed) and the classifier's final ``norm`` are dropped:
    as in MMDetection, the detector's output norms (``norm{i}``) start from their init."""
    out = {}
    for key, value in state.items():
        if key.startswith(("head.", "norm.")) or key.endswith("attn_mask"):
            continue
        for pattern, repl in _RENAMES:
            if re.match(pattern, key):
                key = re.sub(pattern, repl, key)
                break
        if ".downsample." in key:
            value = _merge_order(value)
        out[key] = value
    return out


_OFFICIAL_DETECTOR_KEY = re.compile(r"^backbone\.layers\.\d+\.blocks\.\d+\.attn\.qkv\.weight$")


def is_swin_official_detector(state: dict[str, Tensor]) -> bool:
    """True for a whole detector saved by Swin Transformer's own detection repository (its
    backbone under ``backbone.layers.i.blocks.j.attn.qkv``, beside ``roi_head`` / ``rpn_head`` keys)."""
    return any(_OFFICIAL_DETECTOR_KEY.match(k) for k in state) and any(
        k.startswith(("roi_head.", "rpn_head.")) for k in state
    )


def swin_official_detector_to_mmdet(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """A detector state dict of Swin's detection repository in MMDetection 3's layout: the
    ``backbone.`` entries converted by :func:`swin_official_to_mmdet` (the output norms
    ``backbone.norm{i}`` kept), every other entry (FPN, RPN, RoI heads: MMDetection 2's names,
    unchanged since) as it is."""
    backbone = {k[len("backbone.") :]: v for k, v in state.items() if k.startswith("backbone.")}
    out = {f"backbone.{k}": v for k, v in swin_official_to_mmdet(backbone).items()}
    out.update({k: v for k, v in state.items() if not k.startswith("backbone.")})
    return out


def load_swin_pretrained(model: nn.Module, checkpoint: str, convert: bool) -> None:
    """Load ``checkpoint`` (file or URL) into a :class:`SwinTransformer`: its ``state_dict`` /
    ``model`` entry, the ``backbone.`` prefix removed, converted from the official layout when
    ``convert``; relative-position tables of another window size are resized bicubically.
    Missing and unexpected keys are logged."""
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location="cpu", logger="current")
    state = ckpt.get("state_dict", ckpt.get("model", ckpt))
    state = {k[len("backbone.") :] if k.startswith("backbone.") else k: v for k, v in state.items()}
    if convert:
        state = swin_official_to_mmdet(state)
    own = model.state_dict()
    for key, value in list(state.items()):
        if key.endswith("relative_position_bias_table") and key in own and own[key].shape != value.shape:
            side, heads = int(value.shape[0] ** 0.5), value.shape[1]
            new_side = int(own[key].shape[0] ** 0.5)
            grid = value.T.reshape(1, heads, side, side)
            grid = torch.nn.functional.interpolate(grid, size=(new_side, new_side), mode="bicubic")
            state[key] = grid.reshape(heads, -1).T.contiguous()
        elif key.endswith("relative_position_index"):
            state.pop(key)  # a function of the window size: keep the model's own
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("relative_position_index")]
    logger = MMLogger.get_current_instance()
    if missing or result.unexpected_keys:
        logger.warning(f"Swin pretrained {checkpoint}: missing {missing}, unexpected {result.unexpected_keys}")
