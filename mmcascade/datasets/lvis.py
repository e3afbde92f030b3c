"""LVIS v0.5 and v1 (Gupta et al., CVPR 2019): COCO-format files with 1230 / 1203 categories
over COCO's images, read as MMDetection's ``LVISV05Dataset`` / ``LVISV1Dataset`` do."""

from pycocotools.coco import COCO

from mmcascade.registry import DATASETS

from .coco import CocoDataset

COCO_IMAGES_URL = "http://images.cocodataset.org/"


@DATASETS.register_module()
class LVISV05Dataset(CocoDataset):
    """LVIS v0.5: images named as COCO 2014 (``COCO_val2014_000000397133.jpg``) are found under
    their COCO 2017 names (``000000397133.jpg``) in ``data_prefix.img``.

    The class names are the file's categories in id order unless ``metainfo`` names classes
    (then only those are trained on, as with COCO). Images carry ``neg_category_ids`` and
    ``not_exhaustive_category_ids`` for :class:`~mmcascade.evaluation.LVISMetric`; annotations
    have no crowd regions. Training configs usually wrap the dataset in mmengine's
    ``ClassBalancedDataset(oversample_thr=1e-3)`` (repeat-factor sampling of rare classes).
    """

    METAINFO = dict(classes=None, palette=None)

    def adapt_records(self, coco: COCO) -> None:
        for img in coco.dataset["images"]:
            name = img.get("file_name")
            if isinstance(name, str) and name.startswith("COCO"):
                img["file_name"] = name[-16:]
        self._classes_from_file(coco)

    def _classes_from_file(self, coco: COCO) -> None:
        if self._metainfo.get("classes") is None:
            cats = sorted(coco.dataset["categories"], key=lambda c: c["id"])
            self._metainfo["classes"] = tuple(c["name"] for c in cats)
        if self._metainfo.get("palette") is None:
            self._metainfo.pop("palette", None)  # made for the classes by CocoDataset


@DATASETS.register_module()
class LVISV1Dataset(LVISV05Dataset):
    """LVIS v1: image records have no ``file_name``; it is their ``coco_url`` without
    ``http://images.cocodataset.org/`` (``train2017/000000391895.jpg``), relative to
    ``data_prefix.img`` (MMDetection's configs: ``img=''`` under the COCO root)."""

    def adapt_records(self, coco: COCO) -> None:
        for img in coco.dataset["images"]:
            if "coco_url" in img:
                img["file_name"] = img["coco_url"].replace(COCO_IMAGES_URL, "")
        self._classes_from_file(coco)


DATASETS.register_module(name="LVISDataset", module=LVISV05Dataset)
