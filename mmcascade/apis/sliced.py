"""Sliced inference for images far larger than the test scale (aerial, satellite, microscopy).

An image is covered by overlapping tiles of ``slice_size``; each tile goes through the config's
test pipeline and the detector like any image (in batches), optionally with the whole image
resized as one more view so that objects larger than a tile are kept; the detections are moved
into the full image's frame and merged per class, by the model's NMS or by greedy non-maximum
merging (boxes of one object cut by a tile edge are united, and their masks with them).

Masks stay :class:`~mmcascade.structures.CroppedMasks` throughout (each inside its own window),
so memory follows the detections, not the image. Frames: tiles are ``(x, y, w, h)`` integer
pixels of the full image; every result is in full-image pixels.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmengine.structures import InstanceData
from torch import Tensor
from tqdm import tqdm

from mmcascade.ops import batched_nms
from mmcascade.structures import CroppedMasks, DetDataSample

from .inference import ImageInput, check_image_array, run_test_pipeline, test_pipeline_steps

MERGE_MODES = ("nms", "nmm")
MATCH_METRICS = ("iou", "ios")


@dataclass(frozen=True)
class Tile:
    """A window of the full image: top-left ``(x, y)`` and size ``w`` x ``h``, integer pixels."""

    x: int
    y: int
    w: int
    h: int


def tile_starts(size: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of length ``tile`` overlapping by ``overlap`` pixels along an axis
    of length ``size``: ``0, stride, 2 stride, ...`` (``stride = tile - overlap``), the last one
    moved back to end exactly at the border. An axis no longer than one tile has one tile at 0
    (of length ``size``: tiles never extend past the image)."""
    if tile <= 0 or not 0 <= overlap < tile:
        raise ValueError(f"tile length {tile} with overlap {overlap}: need tile > 0 and 0 <= overlap < tile")
    if size <= tile:
        return [0]
    stride = tile - overlap
    starts = list(range(0, size - tile, stride))
    starts.append(size - tile)
    return starts


def tile_grid(height: int, width: int, slice_size: tuple[int, int], overlap: float) -> list[Tile]:
    """Tiles covering a ``height`` x ``width`` image, row by row.

    Args:
        slice_size: ``(tile height, tile width)`` in pixels.
        overlap: overlap of neighbouring tiles as a fraction of the tile side, ``[0, 1)``; the
            overlap in pixels is ``int(overlap * side)`` (SAHI's rule).
    """
    if not 0 <= overlap < 1:
        raise ValueError(f"overlap must be in [0, 1), got {overlap}")
    th, tw = slice_size
    ys = tile_starts(height, th, int(overlap * th))
    xs = tile_starts(width, tw, int(overlap * tw))
    return [Tile(x, y, min(tw, width), min(th, height)) for y in ys for x in xs]


def parse_slice_size(value: int | Sequence[int] | str) -> tuple[int, int]:
    """``(height, width)`` from an int (a square), an ``(h, w)`` pair, or a string as image sizes
    are written on the command line: ``'1024'`` or ``'W'x'H'`` (``'1024x768'``: 1024 wide)."""
    if isinstance(value, str):
        parts = value.lower().replace("*", "x").split("x")
        try:
            nums = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"slice size {value!r}: expected N or WxH, e.g. 1024 or 1024x768") from None
        if len(nums) == 1:
            size = (nums[0], nums[0])
        elif len(nums) == 2:
            size = (nums[1], nums[0])
        else:
            raise ValueError(f"slice size {value!r}: expected N or WxH, e.g. 1024 or 1024x768")
    elif isinstance(value, (int, np.integer)):
        size = (int(value), int(value))
    else:
        pair = tuple(int(v) for v in value)
        if len(pair) != 2:
            raise ValueError(f"slice_size must be an int or (height, width), got {value!r}")
        size = (pair[0], pair[1])
    if min(size) < 32:
        raise ValueError(f"slice size {size[1]}x{size[0]} (WxH) is too small: at least 32 pixels a side")
    return size


# ---------------------------------------------------------------------- frames
def as_cropped(instances: InstanceData, height: int, width: int) -> InstanceData:
    """``instances`` with bitmap masks (``(N, H, W)``) turned into :class:`CroppedMasks`."""
    if "masks" not in instances or isinstance(instances.masks, CroppedMasks):
        return instances
    out = instances.clone()
    masks = instances.masks
    out.masks = CroppedMasks.from_bitmaps(masks) if len(masks) else CroppedMasks([], np.zeros((0, 2)), height, width)
    return out


def shift_instances(instances: InstanceData, tile: Tile, height: int, width: int) -> InstanceData:
    """A tile's detections moved into the full ``height`` x ``width`` image (new object)."""
    instances = as_cropped(instances, tile.h, tile.w)
    out = InstanceData(
        bboxes=instances.bboxes + instances.bboxes.new_tensor([tile.x, tile.y, tile.x, tile.y]),
        scores=instances.scores,
        labels=instances.labels,
    )
    if "masks" in instances:
        out.masks = instances.masks.translate(tile.x, tile.y, height, width)
    return out


# ---------------------------------------------------------------------- merging
def pairwise_overlap(box: Tensor, boxes: Tensor, metric: str = "iou") -> Tensor:
    """``(N,)`` overlap of one ``box (4,)`` with ``boxes (N, 4)``, xyxy: IoU, or (``'ios'``)
    intersection over the smaller of the two areas."""
    wh = (torch.minimum(box[2:], boxes[:, 2:]) - torch.maximum(box[:2], boxes[:, :2])).clamp(min=0)
    inter = wh[:, 0] * wh[:, 1]
    area = (box[2] - box[0]).clamp(min=0) * (box[3] - box[1]).clamp(min=0)
    areas = (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)
    denom = torch.minimum(area.expand_as(areas), areas) if metric == "ios" else area + areas - inter
    return inter / denom.clamp(min=torch.finfo(boxes.dtype).tiny)


def greedy_merge_groups(boxes: Tensor, scores: Tensor, labels: Tensor, thr: float, metric: str) -> list[list[int]]:
    """Greedy non-maximum merging (SAHI's GREEDYNMM): in descending score order, each detection
    not yet taken takes every later one of its class whose overlap with it is above ``thr``.
    Returns the groups, best-scored first, each led by its best detection."""
    order = torch.argsort(scores, descending=True, stable=True)
    groups: list[list[int]] = []
    for cls in labels.unique().tolist():
        idx = order[labels[order] == cls]
        open_ = torch.ones(len(idx), dtype=torch.bool)
        for pos in range(len(idx)):
            if not open_[pos]:
                continue
            open_[pos] = False
            rest = torch.nonzero(open_).squeeze(1)
            rest = rest[rest > pos]
            taken = rest[pairwise_overlap(boxes[idx[pos]], boxes[idx[rest]], metric) > thr] if len(rest) else rest
            open_[taken] = False
            groups.append([int(idx[pos]), *idx[taken].tolist()])
    groups.sort(key=lambda g: (-float(scores[g[0]]), g[0]))
    return groups


def check_merge_options(mode: str, match_metric: str) -> None:
    """Refuse an unknown merge mode or metric, or IoS with NMS, by name."""
    if mode not in MERGE_MODES:
        raise ValueError(f"merge mode must be one of {MERGE_MODES}, got {mode!r}")
    if match_metric not in MATCH_METRICS:
        raise ValueError(f"match_metric must be one of {MATCH_METRICS}, got {match_metric!r}")
    if mode == "nms" and match_metric != "iou":
        raise ValueError("match_metric='ios' needs merge mode 'nmm' (NMS compares boxes by IoU)")


def merge_instances(
    instances: InstanceData,
    iou_thr: float,
    mode: str = "nms",
    nms_cfg: dict[str, Any] | None = None,
    match_metric: str = "iou",
    max_per_img: int | None = None,
) -> InstanceData:
    """Merge detections of overlapping views (already in one frame), class by class.

    Args:
        instances: ``bboxes (N, 4)`` xyxy, ``scores``, ``labels`` and optionally ``masks``
            (:class:`CroppedMasks`).
        iou_thr: overlap above which two detections of a class are one object.
        mode: ``'nms'``: keep the best of them (the detector's NMS, ``nms_cfg`` with
            ``iou_threshold=iou_thr``); ``'nmm'``: greedy merging, the group's box is the union
            of its boxes, its score the best, its mask the union of the masks.
        match_metric: ``'iou'`` or ``'ios'`` (intersection over the smaller box; ``'nmm'`` only).
        max_per_img: keep the best this many; ``None`` keeps all.

    Returns:
        The merged detections, sorted by descending score.
    """
    check_merge_options(mode, match_metric)
    if len(instances) == 0:
        return instances
    if mode == "nms":
        cfg = dict(nms_cfg or dict(type="nms"), iou_threshold=float(iou_thr))
        _, keep = batched_nms(instances.bboxes, instances.scores, instances.labels, cfg)
        merged = instances[keep]
    else:
        groups = greedy_merge_groups(instances.bboxes, instances.scores, instances.labels, float(iou_thr), match_metric)
        merged = _merge_groups(instances, groups)
    if max_per_img is not None:
        merged = merged[: int(max_per_img)]
    return merged


def _merge_groups(instances: InstanceData, groups: list[list[int]]) -> InstanceData:
    boxes = instances.bboxes
    merged = InstanceData(
        bboxes=torch.stack([torch.cat([boxes[g, :2].amin(0), boxes[g, 2:].amax(0)]) for g in groups]),
        scores=instances.scores[[g[0] for g in groups]],
        labels=instances.labels[[g[0] for g in groups]],
    )
    if "masks" in instances:
        masks = instances.masks
        merged.masks = CroppedMasks.cat([masks[g] if len(g) == 1 else masks.union(g) for g in groups])
    return merged


SLICE_DEFAULTS: dict[str, Any] = dict(
    slice_size=1024,
    overlap=0.2,
    merge_iou_thr=0.5,
    full_image=True,
    batch_size=4,
    max_per_img=None,
    merge="nms",
    match_metric="iou",
)
"""The settings of :func:`inference_sliced` a test-time wrapper or a tool passes on, with their defaults."""


def slice_settings(**options: Any) -> dict[str, Any]:
    """:data:`SLICE_DEFAULTS` updated by ``options``, checked (tile size, merge mode and metric).

    Raises:
        TypeError: an option :func:`inference_sliced` does not take, by name.
        ValueError: a bad value, by name.
    """
    unknown = sorted(set(options) - set(SLICE_DEFAULTS))
    if unknown:
        raise TypeError(f"unknown sliced-inference option(s) {unknown}; they are {sorted(SLICE_DEFAULTS)}")
    out = dict(SLICE_DEFAULTS, **options)
    out["slice_size"] = parse_slice_size(out["slice_size"])
    check_merge_options(out["merge"], out["match_metric"])
    return out


# ---------------------------------------------------------------------- the detector
@contextlib.contextmanager
def cropped_masks(model: nn.Module) -> Iterator[None]:
    """Within the block, ``model``'s RoI head returns :class:`CroppedMasks` (``mask_format``)."""
    cfg = rcnn_test_cfg(model)
    if not getattr(model, "with_mask", False) or cfg is None:
        yield
        return
    before = cfg.get("mask_format", "auto")
    cfg["mask_format"] = "cropped"
    try:
        yield
    finally:
        cfg["mask_format"] = before


def read_image(image: ImageInput) -> np.ndarray:
    """A path's image as ``(H, W, 3)`` uint8 BGR, or the checked array itself."""
    if isinstance(image, np.ndarray):
        check_image_array(image)
        return image
    img = cv2.imread(os.fspath(image), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"could not read image {os.fspath(image)}")
    return img


@torch.no_grad()
def inference_sliced(
    model: nn.Module,
    image: ImageInput,
    slice_size: int | Sequence[int] | str = 1024,
    overlap: float = 0.2,
    merge_iou_thr: float = 0.5,
    full_image: bool = True,
    batch_size: int = 4,
    max_per_img: int | None = None,
    merge: str = "nms",
    match_metric: str = "iou",
    progress: bool | None = None,
    test_pipeline: list[dict] | None = None,
) -> DetDataSample:
    """Detect objects in a large image tile by tile and merge the tiles' detections.

    Args:
        model: a detector from :func:`~mmcascade.apis.init_detector`.
        image: a file path or an ``(H, W, 3)`` uint8 BGR array.
        slice_size: tile ``(height, width)`` in pixels, or an int for square tiles.
        overlap: overlap of neighbouring tiles, a fraction of the tile side (``int(overlap *
            side)`` pixels); the last row and column are moved back to end at the border.
        merge_iou_thr: detections of one class overlapping more than this are one object.
        full_image: also run the whole image at the test scale (keeps objects larger than a
            tile); skipped when one tile covers the image.
        batch_size: tiles per forward pass.
        max_per_img: keep the best this many after merging; ``None`` keeps all.
        merge: ``'nms'`` (the model's NMS at ``merge_iou_thr``) or ``'nmm'`` (greedy merging:
            boxes and masks of a cut object united).
        match_metric: ``'iou'``, or ``'ios'`` (intersection over the smaller box, ``'nmm'`` only).
        progress: a progress bar over tiles; ``None`` shows one on a terminal for 4 or more tiles.
        test_pipeline: the test pipeline's steps; default the model's config's.

    Returns:
        One ``DetDataSample``: ``pred_instances`` with ``bboxes (K, 4)`` float32 xyxy full-image
        pixels, ``scores (K,)``, ``labels (K,)`` and, for mask models, ``masks`` as
        :class:`~mmcascade.structures.CroppedMasks` (``.to_bitmaps()`` for ``(K, H, W)``),
        sorted by score; metainfo ``ori_shape``, ``img_shape`` (both ``(H, W)``), ``num_tiles``
        and ``img_path`` for a file.
    """
    size = parse_slice_size(slice_size)
    check_merge_options(merge, match_metric)
    img = read_image(image)
    height, width = img.shape[:2]
    tiles = tile_grid(height, width, size, overlap)
    views: list[tuple[Tile | None, np.ndarray]] = [(t, img[t.y : t.y + t.h, t.x : t.x + t.w]) for t in tiles]
    if full_image and len(tiles) > 1:
        views.append((None, img))
    steps = test_pipeline if test_pipeline is not None else test_pipeline_steps(model.cfg)
    parts = []
    hide = (not progress) if progress is not None else (None if len(views) >= 4 else True)  # None: on a terminal
    with cropped_masks(model), tqdm(total=len(views), desc="tiles", unit="tile", disable=hide) as bar:
        for start in range(0, len(views), batch_size):
            chunk = views[start : start + batch_size]
            arrays = [np.ascontiguousarray(v) for _, v in chunk]
            for (tile, _), sample in zip(chunk, run_test_pipeline(model, arrays, batch_size, steps)):
                pred = sample.pred_instances
                parts.append(
                    as_cropped(pred, height, width) if tile is None else shift_instances(pred, tile, height, width)
                )
            bar.update(len(chunk))
    merged = merge_instances(
        InstanceData.cat(parts), merge_iou_thr, merge, _model_nms_cfg(model), match_metric, max_per_img
    )
    meta = dict(ori_shape=(height, width), img_shape=(height, width), num_tiles=len(tiles))
    if not isinstance(image, np.ndarray):
        meta["img_path"] = os.fspath(image)
    result = DetDataSample(metainfo=meta)
    result.pred_instances = merged
    return result


def _model_nms_cfg(model: nn.Module) -> dict[str, Any] | None:
    """The RoI head's test NMS settings (their ``type`` and ``impl``), if it has them."""
    cfg = rcnn_test_cfg(model) or {}
    return dict(cfg["nms"]) if cfg.get("nms") else None


def rcnn_test_cfg(model: nn.Module) -> dict[str, Any] | None:
    """The model's ``test_cfg.rcnn`` as it reads it (the RoI head's, or an exported model's)."""
    head = getattr(model, "roi_head", None)
    return getattr(head, "test_cfg", None) if head is not None else getattr(model, "rcnn_test_cfg", None)
