"""Load images and annotations into the pipeline's results dict."""

import os
import warnings

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmcv.transforms import LoadImageFromFile as _MMCVLoadImageFromFile

from mmcascade.registry import TRANSFORMS
from mmcascade.structures import BitmapMasks, PolygonMasks, segm_to_bitmap
from mmcascade.structures.bbox import get_box_type
from mmcascade.utils.options import check_extra_options

from ..record_checks import probe_image_file


@TRANSFORMS.register_module(force=True)
class LoadImageFromFile(_MMCVLoadImageFromFile):
    """mmcv's loader; an unreadable or corrupt file is reported and the sample is skipped.

    Returning None makes the dataset draw another sample in training; at test time mmengine
    raises, naming that no sample was produced, after our warning named the file.
    """

    def transform(self, results: dict) -> dict | None:
        try:
            out = super().transform(results)
        except Exception as exc:  # missing file, undecodable bytes
            warnings.warn(f"skipped unreadable image {results.get('img_path')}: {exc}", stacklevel=2)
            return None
        if out is None or out.get("img") is None:
            warnings.warn(f"skipped unreadable image {results.get('img_path')}", stacklevel=2)
            return None
        check_size_against_annotation(out, "ignore_orientation" not in self.color_type)
        return out


def check_size_against_annotation(results: dict, apply_orientation: bool = True) -> None:
    """The decoded image must have the ``height`` / ``width`` its annotation file records, or
    boxes and masks would not line up with the pixels.

    Raises:
        ValueError: naming the image, both sizes, and the likely cause (read from the file's
            header: EXIF rotation, width and height swapped in the json, or another image).
    """
    if "height" not in results or "width" not in results:
        return
    h, w = results["img"].shape[:2]
    height, width = int(results["height"]), int(results["width"])
    if (h, w) == (height, width):
        return
    path = results.get("img_path")
    problem = probe_image_file(path, height, width, apply_orientation) if path and os.path.isfile(path) else None
    said = (
        problem.message
        if problem is not None and problem.kind == "size"
        else f"{path}: decoded as {h}x{w} (height x width) but the annotation file says {height}x{width}"
    )
    raise ValueError(f"{said} (image id {results.get('img_id')})")


@TRANSFORMS.register_module()
class LoadImageFromNDArray(BaseTransform):
    """Take an image already in memory (``results['img']``, ``(H, W, 3)`` uint8 BGR) instead of
    reading a file; fills the same keys as :class:`LoadImageFromFile`."""

    def __init__(self, to_float32: bool = False) -> None:
        self.to_float32 = to_float32

    def transform(self, results: dict) -> dict:
        img = results["img"]
        if not isinstance(img, np.ndarray) or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) BGR array, got {getattr(img, 'shape', type(img))}")
        if self.to_float32:
            img = img.astype(np.float32)
        out = dict(results, img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        out.setdefault("img_path", None)
        return out


@TRANSFORMS.register_module()
class LoadAnnotations(BaseTransform):
    """Turn ``instances`` into ``gt_bboxes`` (``(N, 4)`` float32 xyxy pixels),
    ``gt_bboxes_labels (N,) int64``, ``gt_ignore_flags (N,) bool`` and ``gt_masks``
    (:class:`BitmapMasks`).

    Args:
        with_bbox, with_label, with_mask: what to load.
        poly2mask: rasterise polygons / RLE to :class:`BitmapMasks` (default); False keeps
            polygons as :class:`PolygonMasks` (an instance given as RLE, or without a valid
            polygon, becomes an ignored region with a zero-area polygon, as in MMDetection).
        box_type: the container of ``gt_bboxes``: a registered box type (``'hbox'``, the default:
            :class:`HorizontalBoxes`, whose ``flip_`` / ``rescale_`` / ``clip_``... custom
            transforms call), or ``None`` for a plain ``(N, 4)`` float32 array.
        backend_args: accepted so MMDetection configs load; this transform reads no file (the
            annotations come with the dataset's records), so there is nothing for it to change.
        MMDetection's ``with_seg``, ``reduce_zero_label``... are accepted at their defaults only.
    """

    def __init__(
        self,
        with_bbox: bool = True,
        with_label: bool = True,
        with_mask: bool = False,
        poly2mask: bool = True,
        box_type: str | None = "hbox",
        backend_args: dict | None = None,
        **kwargs,
    ) -> None:
        check_extra_options(
            type(self).__name__,
            kwargs,
            dict(with_seg=False, reduce_zero_label=False, ignore_index=255, imdecode_backend="cv2"),
        )
        self.backend_args = backend_args  # no file is read here: annotations come from the dataset
        self.box_type = box_type
        self._box_cls = None if box_type is None else get_box_type(box_type)[1]
        self.with_bbox = with_bbox
        self.with_label = with_label
        self.with_mask = with_mask
        self.poly2mask = poly2mask

    def transform(self, results: dict) -> dict:
        instances = results.get("instances", [])
        if self.with_bbox:
            boxes = [i["bbox"] for i in instances]
            boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
            results["gt_bboxes"] = boxes if self._box_cls is None else self._box_cls(boxes, dtype=torch.float32)
            results["gt_ignore_flags"] = np.asarray([bool(i["ignore_flag"]) for i in instances], dtype=bool)
        if self.with_label:
            results["gt_bboxes_labels"] = np.asarray([i["bbox_label"] for i in instances], dtype=np.int64)
        if self.with_mask:
            h, w = results["ori_shape"] if "ori_shape" in results else (results["height"], results["width"])
            if self.poly2mask:
                results["gt_masks"] = BitmapMasks([self._to_bitmap(i, h, w, results) for i in instances], h, w)
            else:
                polygons, ignore = zip(*[self._to_polygons(i) for i in instances]) if instances else ((), ())
                results["gt_masks"] = PolygonMasks(list(polygons), h, w)
                if self.with_bbox:
                    results["gt_ignore_flags"] = results["gt_ignore_flags"] | np.asarray(ignore, dtype=bool)
        return results

    @staticmethod
    def _to_polygons(instance: dict) -> tuple[list[np.ndarray], bool]:
        """An instance's valid polygons (at least 3 points each) and whether it must be ignored:
        RLE masks and instances without a valid polygon become ignored regions."""
        segm = instance.get("mask")
        if isinstance(segm, list):
            polygons = [np.asarray(p, dtype=np.float64) for p in segm if len(p) >= 6 and len(p) % 2 == 0]
            if polygons:
                return polygons, False
        return [np.zeros(6)], True

    @staticmethod
    def _to_bitmap(instance: dict, h: int, w: int, results: dict) -> np.ndarray:
        segm = instance.get("mask")
        if segm is None or (isinstance(segm, list) and not segm):
            warnings.warn(f"{results.get('img_path')}: an instance has no mask; using an empty one", stacklevel=3)
            return np.zeros((h, w), dtype=np.uint8)
        if isinstance(segm, list):
            segm = [p for p in segm if len(p) >= 6 and len(p) % 2 == 0]
            if not segm:
                return np.zeros((h, w), dtype=np.uint8)
        return segm_to_bitmap(segm, h, w)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(with_bbox={self.with_bbox}, with_label={self.with_label}, "
            f"with_mask={self.with_mask}, poly2mask={self.poly2mask}, box_type={self.box_type!r})"
        )
