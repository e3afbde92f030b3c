"""Pascal VOC's own layout: an image-id list (``ImageSets/Main/trainval.txt``), one XML file per
image (``Annotations/<id>.xml``) and the JPEGs (``JPEGImages/<id>.jpg``), read as MMDetection's
``XMLDataset`` / ``VOCDataset`` read it: boxes one pixel up and left of VOC's 1-based corners,
difficult objects as ignored regions, objects of other classes left out."""

import os.path as osp
import xml.etree.ElementTree as ET

import mmcv
from mmengine.dataset import BaseDataset
from mmengine.fileio import get, get_local_path, list_from_file

from mmcascade.config.class_names import VOC_CLASSES, VOC_PALETTE
from mmcascade.registry import DATASETS

from .record_checks import DatasetError

BOX_FIELDS = ("xmin", "ymin", "xmax", "ymax")


@DATASETS.register_module()
class XMLDataset(BaseDataset):
    """Detection data in Pascal VOC's XML layout.

    Each data info holds ``img_id``, ``img_path``, ``xml_path``, ``height``, ``width`` and
    ``instances`` (``bbox`` xyxy, ``bbox_label``, ``ignore_flag`` 1 for difficult objects and,
    in training with ``filter_cfg.bbox_min_size``, for smaller boxes).

    Args:
        ann_file: the list of image ids (relative to ``data_root``).
        data_prefix: ``dict(sub_data_root='VOC2007/')``: the year's folder.
        img_subdir, ann_subdir: the image and XML folders inside it.
        filter_cfg: ``filter_empty_gt``, ``min_size`` (of the image's shorter side) and
            ``bbox_min_size``.
        backend_args: mmengine file-backend arguments.
    """

    def __init__(
        self,
        img_subdir: str = "JPEGImages",
        ann_subdir: str = "Annotations",
        backend_args: dict | None = None,
        **kwargs,
    ) -> None:
        self.img_subdir, self.ann_subdir, self.backend_args = img_subdir, ann_subdir, backend_args
        super().__init__(**kwargs)

    @property
    def sub_data_root(self) -> str:
        return self.data_prefix.get("sub_data_root", "")

    @property
    def bbox_min_size(self) -> int | None:
        return (self.filter_cfg or {}).get("bbox_min_size")

    def load_data_list(self) -> list[dict]:
        classes = self._metainfo.get("classes")
        if not classes:
            raise DatasetError(f"{type(self).__name__}: metainfo needs the class names (classes=...)")
        self.cat2label = {name: i for i, name in enumerate(classes)}
        ids = list_from_file(self.ann_file, backend_args=self.backend_args)
        return [self._parse(img_id.strip()) for img_id in ids if img_id.strip()]

    def _parse(self, img_id: str) -> dict:
        img_path = osp.join(self.sub_data_root, self.img_subdir, f"{img_id}.jpg")
        xml_path = osp.join(self.sub_data_root, self.ann_subdir, f"{img_id}.xml")
        try:
            with get_local_path(xml_path, backend_args=self.backend_args) as local:
                root = ET.parse(local).getroot()
        except (OSError, ET.ParseError) as e:
            raise DatasetError(f"{xml_path} (image id {img_id!r} of {self.ann_file}): {e}") from e
        size = root.find("size")
        if size is not None:
            width, height = (int(self._number(size, key, xml_path, "size")) for key in ("width", "height"))
        else:  # no <size>: the image says
            height, width = mmcv.imfrombytes(get(img_path, backend_args=self.backend_args)).shape[:2]
        instances = [self._instance(obj, i, xml_path) for i, obj in enumerate(root.findall("object"))]
        info = dict(img_id=img_id, img_path=img_path, xml_path=xml_path, height=height, width=width)
        info["instances"] = [inst for inst in instances if inst is not None]
        return info

    @staticmethod
    def _number(node: ET.Element, key: str, xml_path: str, where: str) -> float:
        child = node.find(key)
        try:
            return float(child.text)  # type: ignore[union-attr, arg-type]
        except (AttributeError, TypeError, ValueError):
            raise DatasetError(f"{xml_path}: {where} has no numeric <{key}>") from None

    def _instance(self, obj: ET.Element, index: int, xml_path: str) -> dict | None:
        name = obj.findtext("name")
        if name not in self.cat2label:
            return None
        box_node = obj.find("bndbox")
        if box_node is None:
            raise DatasetError(f"{xml_path}: object {index} ({name}) has no <bndbox>")
        where = f"object {index} ({name}) <bndbox>"
        bbox = [int(self._number(box_node, key, xml_path, where)) - 1 for key in BOX_FIELDS]
        difficult = int(obj.findtext("difficult") or 0)
        small = False
        if self.bbox_min_size is not None and not self.test_mode:
            small = min(bbox[2] - bbox[0], bbox[3] - bbox[1]) < self.bbox_min_size
        return dict(bbox=bbox, bbox_label=self.cat2label[name], ignore_flag=int(bool(difficult) or small))

    def filter_data(self) -> list[dict]:
        """Training: drop images without objects (``filter_empty_gt``) or with a side under
        ``min_size``."""
        if self.test_mode or not self.filter_cfg:
            return self.data_list
        empty, min_size = self.filter_cfg.get("filter_empty_gt", False), self.filter_cfg.get("min_size", 0)
        return [
            d for d in self.data_list
            if not (empty and not d["instances"]) and min(d["width"], d["height"]) >= min_size
        ]  # fmt: skip


@DATASETS.register_module()
class VOCDataset(XMLDataset):
    """Pascal VOC 2007 / 2012 (its 20 classes). ``metainfo['dataset_type']`` names the year from
    ``sub_data_root`` (``'VOC2007'`` / ``'VOC2012'``), for ``VOCMetric``'s default AP mode."""

    METAINFO = dict(classes=VOC_CLASSES, palette=list(VOC_PALETTE))

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        year = next((y for y in ("VOC2007", "VOC2012") if y in self.sub_data_root), None)
        self._metainfo["dataset_type"] = year
