"""Sliced inference for images far larger than the test scale (aerial, satellite, microscopy).

An image is covered by overlapping tiles (:mod:`~mmcascade.slicing.tiles`); each tile goes
through the config's test pipeline and the detector like any image, in batches
(:func:`~mmcascade.engine.inference_loop.run_test_pipeline`), optionally with the whole image
resized as one more view; the detections are moved into the full image's frame and merged
(:mod:`~mmcascade.slicing.merging`) with the model's own NMS settings.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from mmengine.structures import InstanceData
from tqdm import tqdm

from mmcascade.config.pipelines import test_pipeline_steps
from mmcascade.engine.inference_loop import ImageInput, read_image, run_test_pipeline
from mmcascade.structures import DetDataSample

from .merging import as_cropped, merge_instances, shift_instances
from .tiles import SliceSettings, Tile, tile_grid


@torch.no_grad()
def inference_sliced(
    model: nn.Module,
    image: ImageInput,
    settings: SliceSettings | int | Sequence[int] | str | None = None,
    *,
    progress: bool | None = None,
    test_pipeline: list[dict] | None = None,
    **options: Any,
) -> DetDataSample:
    """Detect objects in a large image tile by tile and merge the tiles' detections.

    Args:
        model: a detector from :func:`~mmcascade.apis.init_detector` (PyTorch or exported).
        image: a file path or an ``(H, W, 3)`` uint8 BGR array.
        settings: the tiles and the merging (:class:`SliceSettings`; its defaults when ``None``),
            or the tile size alone (an int, ``(h, w)`` or ``'WxH'``: ``inference_sliced(model, img, 512)``).
        progress: a progress bar over tiles; ``None`` shows one on a terminal for 4 or more tiles.
        test_pipeline: the test pipeline's steps; default the model's config's.
        options: single settings by name (``slice_size=512, merge='nmm'``...), applied over
            ``settings``; see :class:`SliceSettings`.

    Returns:
        One ``DetDataSample``: ``pred_instances`` with ``bboxes (K, 4)`` float32 xyxy full-image
        pixels, ``scores (K,)``, ``labels (K,)`` and, for mask models, ``masks`` as
        :class:`~mmcascade.structures.CroppedMasks` (``.to_bitmaps()`` for ``(K, H, W)``),
        sorted by score; metainfo ``ori_shape``, ``img_shape`` (both ``(H, W)``), ``num_tiles``
        and ``img_path`` for a file.
    """
    s = _settings(settings, options)
    img = read_image(image)
    height, width = img.shape[:2]
    tiles = tile_grid(height, width, s.slice_size, s.overlap)
    views: list[tuple[Tile | None, np.ndarray]] = [(t, img[t.y : t.y + t.h, t.x : t.x + t.w]) for t in tiles]
    if s.full_image and len(tiles) > 1:
        views.append((None, img))
    steps = test_pipeline if test_pipeline is not None else test_pipeline_steps(model.cfg)
    parts = _detect_views(model, views, s.batch_size, steps, height, width, progress)
    merged = merge_instances(
        InstanceData.cat(parts), s.merge_iou_thr, s.merge, _model_nms_cfg(model), s.match_metric, s.max_per_img
    )
    meta = dict(ori_shape=(height, width), img_shape=(height, width), num_tiles=len(tiles))
    if not isinstance(image, np.ndarray):
        meta["img_path"] = os.fspath(image)
    result = DetDataSample(metainfo=meta)
    result.pred_instances = merged
    return result


def _settings(settings: SliceSettings | int | Sequence[int] | str | None, options: dict[str, Any]) -> SliceSettings:
    """:func:`inference_sliced`'s settings: ``settings`` (or a tile size) with ``options`` over them."""
    if settings is None:
        base: dict[str, Any] = {}
    elif isinstance(settings, SliceSettings):
        base = settings.as_options()
    else:
        base = dict(slice_size=settings)
    return SliceSettings.from_options(**{**base, **options})


def _detect_views(
    model: nn.Module,
    views: list[tuple[Tile | None, np.ndarray]],
    batch_size: int,
    steps: list[dict],
    height: int,
    width: int,
    progress: bool | None,
) -> list[InstanceData]:
    """Each view's detections (cropped masks) in the full ``height`` x ``width`` frame, views in
    batches, with a progress bar (``None``: on a terminal for 4 or more views)."""
    parts = []
    hide = (not progress) if progress is not None else (None if len(views) >= 4 else True)  # None: on a terminal
    with tqdm(total=len(views), desc="tiles", unit="tile", disable=hide) as bar:
        for start in range(0, len(views), batch_size):
            chunk = views[start : start + batch_size]
            arrays = [np.ascontiguousarray(v) for _, v in chunk]
            samples = run_test_pipeline(model, arrays, batch_size, steps, mask_format="cropped")
            for (tile, _), sample in zip(chunk, samples):
                pred = sample.pred_instances
                parts.append(
                    as_cropped(pred, height, width) if tile is None else shift_instances(pred, tile, height, width)
                )
            bar.update(len(chunk))
    return parts


def _model_nms_cfg(model: nn.Module) -> dict[str, Any] | None:
    """The RoI head's test NMS settings (their ``type`` and ``impl``), if it has them."""
    cfg = rcnn_test_cfg(model) or {}
    return dict(cfg["nms"]) if cfg.get("nms") else None


def rcnn_test_cfg(model: nn.Module) -> dict[str, Any] | None:
    """The model's ``test_cfg.rcnn`` as it reads it (the RoI head's, or an exported model's)."""
    head = getattr(model, "roi_head", None)
    return getattr(head, "test_cfg", None) if head is not None else getattr(model, "rcnn_test_cfg", None)
