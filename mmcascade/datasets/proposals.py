"""Proposal files (a pickle of ``'<image folder>/<file name>'`` -> ``InstanceData(bboxes, scores)``,
MMDetection's ``DumpProposals`` layout) read for the datasets' ``proposal_file``."""

import os.path as osp
from collections.abc import Sequence

import mmengine
import numpy as np

from .record_checks import DatasetError


def proposal_key(img_path: str) -> str:
    """The key of an image in a proposal file: its folder's name and its file name."""
    return osp.join(osp.basename(osp.dirname(img_path)), osp.basename(img_path))


def load_proposal_file(path: str, img_paths: Sequence[str], backend_args: dict | None = None) -> list:
    """Each image's proposals in the order of ``img_paths`` (the file's items as they are:
    ``InstanceData`` or dicts with ``bboxes (N, 4)`` and ``scores (N,)`` arrays).

    Raises:
        DatasetError: naming the file, and the first image it has no (or malformed) proposals for.
    """
    proposals = mmengine.load(path, backend_args=backend_args)
    if not isinstance(proposals, dict):
        raise DatasetError(f"{path}: a proposal file holds a dict of '<folder>/<file name>' -> proposals")
    out = []
    for img_path in img_paths:
        key = proposal_key(img_path)
        if key not in proposals:
            raise DatasetError(
                f"{path}: no proposals for image {key!r} of the dataset ({len(proposals)} images in the file); "
                "dump them from the same images (DumpProposals)"
            )
        item = proposals[key]
        boxes = np.asarray(item["bboxes"])
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise DatasetError(f"{path}: proposals of {key!r} must be (N, 4) boxes, got shape {boxes.shape}")
        out.append(item)
    return out
