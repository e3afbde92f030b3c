"""The calibration images of an int8 export, and the graph inputs they give.

Images come from one of the config's datasets (``val`` by default, ``test`` or ``train``) or from a
folder; each goes through the config's test pipeline and the model's data preprocessor, one image
at a time, exactly as :func:`~mmcascade.apis.inference_detector` prepares it, and becomes the
inputs of the exported graph (:func:`~mmcascade.deploy.contract.graph_inputs`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from mmengine.config import Config
from tqdm import tqdm

from mmcascade.config.pipelines import build_test_pipeline, test_pipeline_steps
from mmcascade.deploy.contract import pipeline_feed
from mmcascade.registry import DATASETS
from mmcascade.utils.image_files import IMAGE_SUFFIXES, list_images

SPLITS = ("val", "test", "train")


def calibration_images(cfg: Config, source: str | os.PathLike | None, count: int) -> list[str]:
    """The first ``count`` image paths of ``source``: ``None`` or ``'val'`` / ``'test'`` /
    ``'train'`` (that dataloader's dataset, in its order), or a folder (its images, sorted by
    name; an image file or a glob pattern also works, as for the demo).

    Raises:
        ValueError: ``count`` below 1, an unknown split, a folder without images, or a dataset
            without images.
    """
    if count < 1:
        raise ValueError(f"--calib-size {count}: at least one calibration image is needed")
    source = "val" if source is None else str(source)
    if source not in SPLITS or os.path.isdir(source):
        try:
            return [str(p) for p in list_images(source)[:count]]
        except FileNotFoundError:
            if os.path.isdir(source):
                raise ValueError(f"--calib {source}: the folder has no images ({', '.join(IMAGE_SUFFIXES)})") from None
            raise ValueError(
                f"--calib {source}: neither a folder of images nor one of the config's datasets {SPLITS}"
            ) from None
    key = f"{source}_dataloader"
    if not cfg.get(key):
        raise ValueError(f"--calib {source}: the config has no {key}")
    dataset = DATASETS.build(cfg[key]["dataset"])
    dataset.full_init()
    if len(dataset) == 0:
        raise ValueError(f"--calib {source}: the config's {source} dataset has no images")
    return [dataset.get_data_info(i)["img_path"] for i in range(min(count, len(dataset)))]


def graph_feeds(
    model: torch.nn.Module, paths: Sequence[str], desc: str = "calibration"
) -> Iterator[dict[str, np.ndarray]]:
    """Each image's graph inputs (``inputs``, ``img_shapes``, ``scale_factors``), prepared by the
    config's test pipeline and ``model``'s data preprocessor, with a progress bar.

    Raises:
        ValueError: an image cannot be read (named).
    """
    pipeline = build_test_pipeline(test_pipeline_steps(model.cfg), from_array=False)
    for path in tqdm(paths, desc=desc, unit="img"):
        packed = pipeline(dict(img_path=str(path), img_id=0))
        if packed is None:
            raise ValueError(f"{path}: could not read the calibration image")
        yield pipeline_feed(model, [packed])
