"""Images through a config's test pipeline and a model's ``predict``: the one loop that
:func:`~mmcascade.apis.inference_detector` and sliced inference (:mod:`mmcascade.slicing`) share."""

import os
from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmengine.dataset import Compose, pseudo_collate

from mmcascade.config.pipelines import build_test_pipeline
from mmcascade.structures import DetDataSample
from mmcascade.utils.memory import release_free_memory

ImageInput = str | os.PathLike | np.ndarray
"""A file path, or an ``(H, W, 3)`` uint8 BGR array (as ``cv2.imread`` returns)."""


def check_image_array(img: np.ndarray, name: str = "image") -> None:
    """An array given to :func:`inference_detector` must be what ``cv2.imread`` returns:
    ``(H, W, 3)`` uint8 BGR, values 0-255.

    Raises:
        ValueError: for another dtype (a float image in [0, 1] or a 16-bit image would reach the
            model far too dark or too bright) or another number of channels, with the conversion
            to use.
    """
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating):
            hint = (
                "for a float image in [0, 1] use (img * 255).round().astype(np.uint8); "
                "for one in [0, 255] use img.round().clip(0, 255).astype(np.uint8)"
            )
        elif img.dtype == np.uint16:
            hint = "for a 16-bit image use (img >> 8).astype(np.uint8) or rescale it to 0-255"
        else:
            hint = "convert it to uint8 values 0-255"
        raise ValueError(f"{name}: expected a uint8 BGR array (as cv2.imread returns), got dtype {img.dtype}; {hint}")
    if img.ndim != 3 or img.shape[2] != 3:
        shape = tuple(img.shape)
        if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
            hint = "for a grayscale image use cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)"
        elif img.ndim == 3 and img.shape[2] == 4:
            hint = "for BGRA drop the alpha channel: img[..., :3]"
        else:
            hint = "give an (H, W, 3) BGR image"
        raise ValueError(f"{name}: expected shape (H, W, 3), got {shape}; {hint}")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"{name}: the image is empty ({img.shape[0]}x{img.shape[1]} pixels, height x width)")


def read_image(image: ImageInput) -> np.ndarray:
    """A path's image as ``(H, W, 3)`` uint8 BGR, or the checked array itself.

    Raises:
        ValueError: the file cannot be read as an image, or the array is not uint8 BGR.
    """
    if isinstance(image, np.ndarray):
        check_image_array(image)
        return image
    img = cv2.imread(os.fspath(image), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"could not read image {os.fspath(image)}")
    return img


def run_test_pipeline(
    model: nn.Module, items: Sequence[ImageInput], batch_size: int, steps: list[dict], **predict_options: object
) -> list[DetDataSample]:
    """Each image (path or checked BGR array) through the test pipeline ``steps``, the model's
    data preprocessor and ``model.predict(inputs, samples, **predict_options)`` (what
    ``model.test_step`` runs), ``batch_size`` at a time; one ``DetDataSample`` per image, in order."""
    results: list[DetDataSample] = []
    pipelines: dict[bool, Compose] = {}
    for start in range(0, len(items), batch_size):
        batch = []
        for item in items[start : start + batch_size]:
            from_array = isinstance(item, np.ndarray)
            if from_array not in pipelines:
                pipelines[from_array] = build_test_pipeline(steps, from_array)
            data = dict(img=item, img_id=0) if from_array else dict(img_path=str(item), img_id=0)
            packed = pipelines[from_array](data)
            if packed is None:
                raise ValueError(f"could not read image {item if not from_array else '(array)'}")
            batch.append(packed)
        data = model.data_preprocessor(pseudo_collate(batch), False)
        results.extend(model.predict(data["inputs"], data["data_samples"], **predict_options))
        if next(model.parameters(), torch.empty(0)).device.type == "cpu":  # (an exported model has none)
            release_free_memory()  # so that the next batch's peak does not start higher
    return results
