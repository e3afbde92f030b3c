"""Cityscapes instance segmentation (Cordts et al., CVPR 2016) as COCO-format files (the
``instancesonly_filtered_gtFine_{train,val}.json`` that cityscapesscripts' conversion writes):
eight classes with instances, MMDetection's ``CityscapesDataset``."""

from mmcascade.registry import DATASETS

from .coco import CocoDataset

CITYSCAPES_CLASSES = ("person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle")
CITYSCAPES_PALETTE = [
    (220, 20, 60), (255, 0, 0), (0, 0, 142), (0, 0, 70), (0, 60, 100), (0, 80, 100), (0, 0, 230), (119, 11, 32),
]  # fmt: skip


@DATASETS.register_module()
class CityscapesDataset(CocoDataset):
    """Cityscapes images (``leftImg8bit/{split}/{city}/*_leftImg8bit.png``) with COCO-format
    instances. With ``filter_cfg.filter_empty_gt`` an image is dropped for training when it has no
    instance of the eight classes or only crowd ones (as every dataset here); ``min_size`` too.
    Evaluate with ``CocoMetric`` and / or ``CityScapesMetric`` (the benchmark's instance AP)."""

    METAINFO = dict(classes=CITYSCAPES_CLASSES, palette=CITYSCAPES_PALETTE)
