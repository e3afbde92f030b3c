"""Generate Detectron-style weight pickles with the real blob names and shapes (as Detectron's
ResNet.py / FPN.py / rpn_heads.py / fast_rcnn_heads.py / mask_rcnn_heads.py name them), filled
with seeded random numbers, for the converter tests."""

import pickle

import numpy as np

BLOCKS = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def _affine(blobs: dict, name: str, n: int, rng: np.random.Generator) -> None:
    blobs[f"{name}_s"] = rng.uniform(0.5, 1.5, n).astype(np.float32)
    blobs[f"{name}_b"] = rng.normal(0, 0.1, n).astype(np.float32)


def resnet_blobs(depth: int = 50, groups: int = 1, width_per_group: int = 64, seed: int = 0) -> dict:
    """ImageNet backbone blobs: stem, res2..res5 bottlenecks, and the classifier ``pred``."""
    rng = np.random.default_rng(seed)
    w = lambda *shape: rng.normal(0, 0.01, shape).astype(np.float32)  # noqa: E731
    blobs = {"conv1_w": w(64, 3, 7, 7)}
    _affine(blobs, "res_conv1_bn", 64, rng)
    dim_in, inner, out = 64, groups * width_per_group, 256
    for stage, count in zip(range(2, 6), BLOCKS[depth]):
        for i in range(count):
            p = f"res{stage}_{i}"
            blobs[f"{p}_branch2a_w"] = w(inner, dim_in, 1, 1)
            blobs[f"{p}_branch2b_w"] = w(inner, inner // groups, 3, 3)
            blobs[f"{p}_branch2c_w"] = w(out, inner, 1, 1)
            for branch, n in (("2a", inner), ("2b", inner), ("2c", out)):
                _affine(blobs, f"{p}_branch{branch}_bn", n, rng)
            if i == 0:
                blobs[f"{p}_branch1_w"] = w(out, dim_in, 1, 1)
                _affine(blobs, f"{p}_branch1_bn", out, rng)
            dim_in = out
        inner, out = inner * 2, out * 2
    blobs["pred_w"], blobs["pred_b"] = w(1000, 2048), w(1000)
    return blobs


def detector_blobs(depth: int = 50, mask: bool = False, seed: int = 0) -> dict:
    """End-to-end FPN Faster / Mask R-CNN blobs (81 classes, background first) plus the
    ``_momentum`` blobs that training snapshots also carry."""
    rng = np.random.default_rng(seed + 1)
    w = lambda *shape: rng.normal(0, 0.01, shape).astype(np.float32)  # noqa: E731
    blobs = resnet_blobs(depth, seed=seed)
    del blobs["pred_w"], blobs["pred_b"]
    last = {s: f"res{s}_{n - 1}_sum" for s, n in zip(range(2, 6), BLOCKS[depth])}
    for s, channels in zip(range(2, 6), (256, 512, 1024, 2048)):
        inner = f"fpn_inner_{last[s]}" + ("" if s == 5 else "_lateral")
        blobs[f"{inner}_w"], blobs[f"{inner}_b"] = w(256, channels, 1, 1), w(256)
        blobs[f"fpn_{last[s]}_w"], blobs[f"fpn_{last[s]}_b"] = w(256, 256, 3, 3), w(256)
    blobs["conv_rpn_fpn2_w"], blobs["conv_rpn_fpn2_b"] = w(256, 256, 3, 3), w(256)
    blobs["rpn_cls_logits_fpn2_w"], blobs["rpn_cls_logits_fpn2_b"] = w(3, 256, 1, 1), w(3)
    blobs["rpn_bbox_pred_fpn2_w"], blobs["rpn_bbox_pred_fpn2_b"] = w(12, 256, 1, 1), w(12)
    blobs["fc6_w"], blobs["fc6_b"] = w(1024, 256 * 7 * 7), w(1024)
    blobs["fc7_w"], blobs["fc7_b"] = w(1024, 1024), w(1024)
    blobs["cls_score_w"], blobs["cls_score_b"] = w(81, 1024), w(81)
    blobs["bbox_pred_w"], blobs["bbox_pred_b"] = w(81 * 4, 1024), w(81 * 4)
    if mask:
        for i in range(1, 5):
            blobs[f"_[mask]_fcn{i}_w"], blobs[f"_[mask]_fcn{i}_b"] = w(256, 256, 3, 3), w(256)
        blobs["conv5_mask_w"], blobs["conv5_mask_b"] = w(256, 256, 2, 2), w(256)
        blobs["mask_fcn_logits_w"], blobs["mask_fcn_logits_b"] = w(81, 256, 1, 1), w(81)
    blobs["fc6_w_momentum"] = np.zeros_like(blobs["fc6_w"])
    return blobs


def write_pickle(path, blobs: dict) -> None:
    """As Detectron writes them: ``{'blobs': ..., 'cfg': yaml text}``, pickle protocol 2."""
    with open(path, "wb") as f:
        pickle.dump({"blobs": blobs, "cfg": "MODEL:\n  TYPE: generalized_rcnn\n"}, f, protocol=2)
