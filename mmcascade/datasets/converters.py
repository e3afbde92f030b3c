"""Convert small datasets in other annotation formats to COCO json (what every config reads).

Three formats people label small sets in:

- **Pascal VOC**: ``Annotations/*.xml`` (``size``, ``object/name``, ``object/bndbox`` with
  1-based inclusive pixel corners, ``difficult``) beside ``JPEGImages/``; an optional split list
  ``ImageSets/Main/<split>.txt``.
- **labelme**: one ``.json`` per image (``imagePath``, ``imageHeight``, ``imageWidth``,
  ``shapes`` of ``label`` and ``points``; ``polygon`` and ``rectangle`` shapes).
- **VIA** (VGG Image Annotator 2): one project / annotations json, a dict of images with
  ``filename`` and ``regions`` (``shape_attributes`` ``polygon`` or ``rect``; the class in a
  ``region_attributes`` field); image sizes are read from the image files' headers.

Each converter returns a COCO dict: ``images`` (``file_name`` relative to the image folder,
``width``, ``height``), ``annotations`` (``bbox`` xywh in 0-based pixels, ``area``, ``iscrowd``,
``segmentation`` polygons when the source has them) and ``categories`` (ids from 1, in the order
of ``classes``, or sorted names). Anything that cannot be converted raises ``ValueError`` naming
the file and the record.
"""

from __future__ import annotations

import os
import os.path as osp
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import pycocotools.mask as mask_utils
from PIL import Image

from mmcascade.utils.json_files import load_json

FORMATS = ("voc", "labelme", "via")


class _Builder:
    """Collects images and annotations, numbering both from 1."""

    def __init__(self, classes: Sequence[str] | None) -> None:
        self.fixed = list(classes) if classes else None
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self.names: set[str] = set()

    def add_image(self, file_name: str, width: int, height: int) -> int:
        self.images.append(dict(id=len(self.images) + 1, file_name=file_name, width=int(width), height=int(height)))
        return len(self.images)

    def add(
        self,
        image_id: int,
        label: str,
        bbox: list[float],
        where: str,
        polygon: list[float] | None = None,
        iscrowd: int = 0,
    ) -> None:
        if self.fixed is not None and label not in self.fixed:
            raise ValueError(f"{where}: class {label!r} is not one of --classes {self.fixed}")
        x, y, w, h = bbox
        if not (w > 0 and h > 0):
            raise ValueError(f"{where}: the box of {label!r} has no area: {bbox}")
        img = self.images[image_id - 1]
        area = float(w * h)
        ann = dict(image_id=image_id, label=label, bbox=[float(v) for v in bbox], area=area, iscrowd=int(iscrowd))
        if polygon is not None:
            if len(polygon) < 6:
                raise ValueError(f"{where}: the polygon of {label!r} has fewer than 3 points")
            rle = mask_utils.frPyObjects([polygon], img["height"], img["width"])
            ann["area"] = float(mask_utils.area(mask_utils.merge(rle)))
            ann["segmentation"] = [[float(v) for v in polygon]]
        self.names.add(label)
        self.annotations.append(ann)

    def coco(self) -> dict:
        names = self.fixed if self.fixed is not None else sorted(self.names)
        ids = {n: i + 1 for i, n in enumerate(names)}
        anns = []
        for k, a in enumerate(self.annotations):
            label = a.pop("label")
            anns.append(dict(id=k + 1, category_id=ids[label], **a))
        return dict(images=self.images, annotations=anns, categories=[dict(id=i, name=n) for n, i in ids.items()])


def _polygon_box(xs: Sequence[float], ys: Sequence[float]) -> list[float]:
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def voc_to_coco(root: str, split: str | None = None, classes: Sequence[str] | None = None) -> dict:
    """A Pascal VOC folder (``Annotations/``, ``JPEGImages/``) as COCO; ``file_name`` is relative
    to ``JPEGImages/``. ``difficult`` objects become ``iscrowd=1`` (ignored in training and
    evaluation, as VOC's metric ignores them). Boxes: ``x = xmin - 1``, ``w = xmax - xmin + 1``
    (VOC's corners are 1-based and inclusive)."""
    ann_dir = osp.join(root, "Annotations")
    if split:
        ids = [line.strip() for line in open(osp.join(root, "ImageSets", "Main", f"{split}.txt")) if line.strip()]
        files = [osp.join(ann_dir, f"{i}.xml") for i in ids]
    else:
        files = sorted(osp.join(ann_dir, f) for f in os.listdir(ann_dir) if f.endswith(".xml"))
    out = _Builder(classes)
    for path in files:
        try:
            tree = ET.parse(path).getroot()
            name = tree.findtext("filename") or osp.splitext(osp.basename(path))[0] + ".jpg"
            width, height = int(tree.findtext("size/width")), int(tree.findtext("size/height"))
        except (ET.ParseError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{path}: not a VOC annotation with filename and size/width, size/height ({exc})"
            ) from None
        image_id = out.add_image(name, width, height)
        for k, obj in enumerate(tree.iter("object")):
            where = f"{path} object {k}"
            try:
                xmin, ymin, xmax, ymax = (float(obj.findtext(f"bndbox/{t}")) for t in ("xmin", "ymin", "xmax", "ymax"))
            except (TypeError, ValueError):
                raise ValueError(f"{where}: bndbox needs numeric xmin, ymin, xmax, ymax") from None
            difficult = int(obj.findtext("difficult") or 0)
            out.add(
                image_id,
                obj.findtext("name").strip(),
                [xmin - 1, ymin - 1, xmax - xmin + 1, ymax - ymin + 1],
                where,
                iscrowd=difficult,
            )
    return out.coco()


def labelme_to_coco(folder: str, classes: Sequence[str] | None = None) -> dict:
    """A folder of labelme ``.json`` files as COCO; ``file_name`` is each file's ``imagePath``
    relative to ``folder``. Polygons keep their outline as ``segmentation``; rectangles are boxes."""
    out = _Builder(classes)
    for path in sorted(osp.join(folder, f) for f in os.listdir(folder) if f.endswith(".json")):
        data = load_json(path, "labelme file")
        try:
            image_id = out.add_image(data["imagePath"], data["imageWidth"], data["imageHeight"])
        except KeyError as exc:
            raise ValueError(
                f"{path}: a labelme file needs imagePath, imageWidth and imageHeight (missing {exc})"
            ) from None
        for k, shape in enumerate(data.get("shapes", [])):
            where = f"{path} shape {k}"
            pts = shape.get("points") or []
            xs, ys = [float(p[0]) for p in pts], [float(p[1]) for p in pts]
            kind = shape.get("shape_type", "polygon")
            if kind == "rectangle" and len(pts) == 2:
                x1, x2, y1, y2 = min(xs), max(xs), min(ys), max(ys)
                out.add(image_id, shape["label"], [x1, y1, x2 - x1, y2 - y1], where)
            elif kind == "polygon" and len(pts) >= 3:
                flat = [v for p in zip(xs, ys) for v in p]
                out.add(image_id, shape["label"], _polygon_box(xs, ys), where, polygon=flat)
            else:
                raise ValueError(f"{where}: a {kind!r} shape of {len(pts)} points is neither a polygon nor a rectangle")
    return out.coco()


def via_to_coco(
    via_json: str, image_dir: str, label_attr: str | None = None, classes: Sequence[str] | None = None
) -> dict:
    """A VIA 2 project (or its exported annotations) as COCO; sizes from the images' headers in
    ``image_dir``. The class is ``region_attributes[label_attr]`` (default: the region's only
    attribute)."""
    data = load_json(via_json, "VIA project file")
    entries = data.get("_via_img_metadata", data)
    out = _Builder(classes)
    for key, entry in entries.items():
        name = entry.get("filename")
        if not name:
            raise ValueError(f"{via_json}: entry {key!r} has no filename")
        try:
            with Image.open(osp.join(image_dir, name)) as im:
                width, height = im.size
        except OSError as exc:
            raise ValueError(f"{via_json}: image {name} of entry {key!r} cannot be read ({exc})") from None
        image_id = out.add_image(name, width, height)
        for k, region in enumerate(entry.get("regions", [])):
            where = f"{via_json} {name} region {k}"
            attrs = region.get("region_attributes", {})
            key_name = label_attr or (next(iter(attrs)) if len(attrs) == 1 else None)
            if key_name is None or key_name not in attrs:
                raise ValueError(
                    f"{where}: no class attribute {label_attr or ''!r} in {attrs} (set the label attribute)"
                )
            label, shape = str(attrs[key_name]), region.get("shape_attributes", {})
            if shape.get("name") == "rect":
                out.add(image_id, label, [shape["x"], shape["y"], shape["width"], shape["height"]], where)
            elif shape.get("name") == "polygon":
                xs, ys = shape["all_points_x"], shape["all_points_y"]
                out.add(image_id, label, _polygon_box(xs, ys), where, polygon=[v for p in zip(xs, ys) for v in p])
            else:
                raise ValueError(f"{where}: shape {shape.get('name')!r} is not a polygon or a rect")
    return out.coco()
