"""Request bytes to images, detections to JSON; what is wrong with a request is a
:class:`RequestError` carrying its HTTP status and reason."""

import io
import warnings
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError
from pycocotools import mask as mask_utils

from mmcascade.structures import DetDataSample


class RequestError(Exception):
    """A request the server refuses: ``status`` (4xx) and a reason for the client."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def decode_image(data: bytes, name: str, max_bytes: int, max_pixels: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 BGR from an encoded image file.

    The size is read from the header first, so a huge image is refused before it is decoded.

    Raises:
        RequestError: 413 for too many bytes or pixels, 400 for an empty, truncated or
            unreadable file.
    """
    if not data:
        raise RequestError(400, f"{name}: empty file")
    if len(data) > max_bytes:
        raise RequestError(413, f"{name}: more than the limit of {max_bytes} bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            header = Image.open(io.BytesIO(data))
            width, height = header.size
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise RequestError(413, f"{name}: more pixels than PIL's decompression-bomb limit") from None
    except (UnidentifiedImageError, OSError):
        raise RequestError(
            400, f"{name}: not an image file this server reads (PNG, JPEG, BMP, TIFF, WebP...)"
        ) from None
    if width * height > max_pixels:
        raise RequestError(413, f"{name}: {width}x{height} pixels, more than the limit of {max_pixels}")
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.shape[:2] != (height, width):
        raise RequestError(400, f"{name}: the image data is truncated or corrupt")
    return img


def detections_json(
    result: DetDataSample, classes: Sequence[str], score_thr: float, max_dets: int, name: str
) -> dict[str, Any]:
    """One image's answer: its size and, best first, each detection's ``box`` (xyxy, input-image
    pixels), ``score``, ``label``, ``class`` and, for mask models, ``mask`` (COCO RLE of the
    whole image, ``counts`` as a string)."""
    inst = result.pred_instances
    height, width = result.ori_shape[:2]
    scores = inst.scores.detach().float().cpu().numpy()
    keep = np.flatnonzero(scores >= score_thr)
    keep = keep[np.argsort(-scores[keep], kind="stable")][:max_dets]
    boxes = inst.bboxes.detach().float().cpu().numpy()[keep]
    labels = inst.labels.detach().cpu().numpy()[keep]
    rles = _rles(inst.masks, keep) if "masks" in inst else None
    detections = []
    for i, k in enumerate(keep):
        det: dict[str, Any] = dict(
            box=[round(float(v), 3) for v in boxes[i]],
            score=round(float(scores[k]), 5),
            label=int(labels[i]),
        )
        det["class"] = classes[det["label"]] if det["label"] < len(classes) else str(det["label"])
        if rles is not None:
            det["mask"] = rles[i]
        detections.append(det)
    return dict(name=name, width=int(width), height=int(height), detections=detections)


def _rles(masks: Any, keep: np.ndarray) -> list[dict]:
    """COCO RLE (``size``, ``counts`` str) of the kept masks: bitmaps or cropped masks."""
    if hasattr(masks, "to_rle"):  # CroppedMasks: no full-size array is made
        every = masks.to_rle() if len(keep) else []
        rles = [every[int(k)] for k in keep]
    else:
        array = masks.detach().cpu().numpy() if hasattr(masks, "detach") else np.asarray(masks)
        rles = [mask_utils.encode(np.asfortranarray(array[int(k)].astype(np.uint8))) for k in keep]
    out = []
    for rle in rles:
        counts = rle["counts"]
        out.append(
            dict(size=[int(v) for v in rle["size"]], counts=counts.decode() if isinstance(counts, bytes) else counts)
        )
    return out
