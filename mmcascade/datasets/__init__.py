"""Datasets, transforms and samplers (importing registers them)."""

from .cityscapes import CityscapesDataset
from .coco import CocoDataset, DatasetError
from .embedded import CLASSES as EMBEDDED_CLASSES
from .embedded import EmbeddedSpec, ensure_embedded_dataset, generate_embedded_dataset
from .embedded_dataset import EmbeddedShapesDataset, LargeShapesDataset
from .lvis import LVISV05Dataset, LVISV1Dataset
from .samplers import AspectRatioBatchSampler
from .transforms import *  # noqa: F401,F403
from .voc import VOCDataset, XMLDataset

__all__ = [
    "CityscapesDataset",
    "CocoDataset",
    "DatasetError",
    "EmbeddedShapesDataset",
    "LargeShapesDataset",
    "EMBEDDED_CLASSES",
    "EmbeddedSpec",
    "ensure_embedded_dataset",
    "generate_embedded_dataset",
    "AspectRatioBatchSampler",
    "LVISV05Dataset",
    "LVISV1Dataset",
    "VOCDataset",
    "XMLDataset",
]
