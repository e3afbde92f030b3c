"""OpenMMLab model-index metadata (``model-index.yml`` and one ``metafile.yml`` per config folder),
generated from the manifest, so that ``mim search / download mmcascade`` and mmengine's
``mmcascade::`` config prefix read the same rows as the model zoo."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import PurePosixPath

import yaml

from .manifest import ZooEntry

PAPERS = {
    "openmmlab-v2.0": dict(
        URL="https://arxiv.org/abs/1906.09756",
        Title="Cascade R-CNN: High Quality Object Detection and Instance Segmentation",
    ),
    "openmmlab-v2.0-ms3x": dict(
        URL="https://arxiv.org/abs/1906.09756",
        Title="Cascade R-CNN: High Quality Object Detection and Instance Segmentation",
    ),
    "swin-official": dict(
        URL="https://arxiv.org/abs/2103.14030",
        Title="Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
    ),
    "detectron-cascade": dict(
        URL="https://arxiv.org/abs/1712.00726", Title="Cascade R-CNN: Delving into High Quality Object Detection"
    ),
}
HEADER = "# Generated from model_zoo/manifest.yaml by `python tools/model_zoo.py readme`; do not edit by hand.\n"


def _epochs(schedule: str) -> int | None:
    match = re.fullmatch(r"s?(\d+)(x|e)", schedule)
    if not match:
        return None
    n = int(match.group(1))
    return n * 12 if match.group(2) == "x" else n


def _model(entry: ZooEntry) -> dict:
    metadata: dict = {"Training Data": "COCO", "Backbone": entry.backbone, "Style": entry.style}
    epochs = _epochs(entry.schedule)
    if epochs:
        metadata["Epochs"] = epochs
    if entry.memory_gb is not None:
        metadata["Training Memory (GB)"] = entry.memory_gb
    if entry.inference_fps is not None:
        metadata["inference time (ms/im)"] = [dict(value=round(1000 / entry.inference_fps, 2), backend="PyTorch")]
    results = []
    if entry.box_ap is not None:
        results.append(dict(Task="Object Detection", Dataset="COCO", Metrics={"box AP": entry.box_ap}))
    if entry.mask_ap is not None:
        results.append(dict(Task="Instance Segmentation", Dataset="COCO", Metrics={"mask AP": entry.mask_ap}))
    model = {
        "Name": entry.name,
        "Alias": entry.aliases,
        "In Collection": entry.detector,
        "Config": entry.config,
        "Metadata": metadata,
        "Results": results,
        "Weights": entry.checkpoint_url,
    }
    if entry.note:
        model["Notes"] = entry.note
    return model


def metafiles(entries: list[ZooEntry]) -> dict[str, str]:
    """``{relative path: text}`` of ``model-index.yml`` and each config folder's ``metafile.yml``."""
    by_folder: dict[str, list[ZooEntry]] = defaultdict(list)
    for entry in entries:
        by_folder[str(PurePosixPath(entry.config).parent)].append(entry)
    files = {}
    for folder, rows in sorted(by_folder.items()):
        collections = []
        for detector in dict.fromkeys(e.detector for e in rows):
            source = next(e.source for e in rows if e.detector == detector)
            collections.append(
                {
                    "Name": detector,
                    "Metadata": {"Training Data": "COCO"},
                    "Paper": dict(PAPERS.get(source, PAPERS["openmmlab-v2.0"])),
                    "README": "model_zoo/README.md",
                }
            )
        doc = {"Collections": collections, "Models": [_model(e) for e in rows]}
        files[f"{folder}/metafile.yml"] = HEADER + yaml.safe_dump(doc, sort_keys=False, width=200)
    index = {"Import": [path for path in sorted(files)]}
    files["model-index.yml"] = HEADER + yaml.safe_dump(index, sort_keys=False)
    return files
