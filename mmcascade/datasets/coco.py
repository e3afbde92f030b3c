"""COCO-format detection / instance-segmentation dataset with up-front validation."""

import os.path as osp
import warnings
from collections import Counter

from mmengine.dataset import BaseDataset
from mmengine.fileio import LocalBackend, exists, get_file_backend, get_local_path
from pycocotools.coco import COCO

from mmcascade.config.class_names import COCO_CLASSES, COCO_PALETTE, make_palette
from mmcascade.registry import DATASETS
from mmcascade.utils.json_files import JsonFileError, read_coco

from .proposals import load_proposal_file
from .record_checks import (
    DatasetError,
    check_annotation_records,
    check_categories,
    check_image_records,
    probe_image_file,
)


@DATASETS.register_module()
class CocoDataset(BaseDataset):
    """COCO-format dataset (``mmengine.dataset.BaseDataset``: lazy init, serialised annotations).

    Each data info holds ``img_id``, ``img_path``, ``height``, ``width`` and ``instances``: a
    list of ``dict(bbox=[x1, y1, x2, y2], bbox_label=int, ignore_flag=0|1, mask=segmentation)``.

    Checks at build time (before any training step), naming the file, the record and the field:
    an empty or malformed annotation file, a class name missing from the file, an annotation id
    of 0, duplicate category ids or names, image records without a positive ``width`` /
    ``height``, annotations of unknown images or categories, non-finite or non-numeric boxes,
    polygons of fewer than 3 points, RLEs of another size than their image are errors
    (:mod:`~mmcascade.datasets.record_checks`). Every image file's header is compared with its
    record (no decoding): a size mismatch is an error saying whether EXIF rotation or swapped
    json fields are the likely cause. A box with no area and a missing image file are warnings,
    the record is skipped, and the skips are counted in :attr:`skipped`; so are unreadable or
    truncated images in training. At test time those are errors unless ``skip_bad_images``
    (the metrics are then over the remaining images, and say so). A dataset left empty says how
    many images were dropped for which reason.

    Args:
        ann_file: COCO json, relative to ``data_root``.
        metainfo: ``dict(classes=(...))`` to train on a subset / a custom set of classes.
        filter_cfg: ``dict(filter_empty_gt=True, min_size=32)`` (ignored in ``test_mode``).
        check_image_files: skip images whose file does not exist (a cheap stat per image on a
            local disk; with another storage backend one request per image, so it is off there
            unless asked for explicitly).
        backend_args: mmengine file-backend arguments for the annotation file and the image
            check (``None``: local paths, or the backend the path's prefix implies, e.g. ``s3://``).
        check_image_headers: compare every image file's header with its record (default: when
            ``check_image_files``); reads the header and the last kilobyte of each file.
        skip_bad_images: at test time, skip unreadable or truncated images (with a warning and
            their count) instead of refusing the dataset.
        proposal_file: precomputed proposals of every image (relative to ``data_root``; the
            layout ``DumpProposals`` writes), put in each record as ``proposals`` for
            ``LoadProposals`` (Fast R-CNN).
    """

    METAINFO = dict(classes=COCO_CLASSES, palette=list(COCO_PALETTE))

    def __init__(
        self,
        *args,
        check_image_files: bool | None = None,
        backend_args: dict | None = None,
        check_image_headers: bool | None = None,
        skip_bad_images: bool = False,
        proposal_file: str | None = None,
        **kwargs,
    ) -> None:
        self.proposal_file = proposal_file
        self.backend_args = backend_args
        self.check_image_files = check_image_files
        self.check_image_headers = check_image_headers
        self.skip_bad_images = skip_bad_images
        self.skipped: Counter = Counter()
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list[dict]:
        if self.check_image_files is None:
            prefix = self.data_prefix.get("img", "") or self.ann_file
            backend = get_file_backend(prefix, backend_args=self.backend_args)
            self.check_image_files = isinstance(backend, LocalBackend)
        if self.check_image_headers is None:
            self.check_image_headers = bool(self.check_image_files)
        with get_local_path(self.ann_file, backend_args=self.backend_args) as path:
            coco = self._load_coco(path)
        name_to_id = {c["name"]: c["id"] for c in coco.dataset["categories"]}
        missing = [c for c in self.metainfo["classes"] if c not in name_to_id]
        if missing:
            raise DatasetError(
                f"{self.ann_file}: classes {missing} are not categories of this file "
                f"(it has {sorted(name_to_id)[:20]}...)"
            )
        self.cat_ids = [name_to_id[c] for c in self.metainfo["classes"]]
        self.cat2label = {cat_id: i for i, cat_id in enumerate(self.cat_ids)}
        self._metainfo.setdefault("palette", make_palette(len(self.cat_ids)))
        self.coco = coco
        data_list = []
        # What the pass over the records finds, raised together by _raise_record_problems.
        self._needs_masks = self._pipeline_loads_masks()
        self._maskless: list[str] = []
        self._size_problems: list[str] = []
        self._bad_images: list[str] = []
        apply_orientation = self._loader_applies_orientation()
        for img_id in sorted(coco.getImgIds()):
            info = self._parse_image(coco, img_id, apply_orientation)
            if info is not None:
                data_list.append(info)
        self._raise_record_problems(len(coco.getImgIds()))
        self._report_skips()
        if self.proposal_file:
            path = self.proposal_file
            if not osp.isabs(path) and "://" not in path and self.data_root:
                path = osp.join(self.data_root, path)
            proposals = load_proposal_file(path, [d["img_path"] for d in data_list], self.backend_args)
            for info, item in zip(data_list, proposals):
                info["proposals"] = item
        return data_list

    def _pipeline_loads_masks(self) -> bool:
        """Whether the pipeline loads instance masks (``LoadAnnotations(with_mask=True)``)."""
        return any(getattr(t, "with_mask", False) for t in getattr(self.pipeline, "transforms", []))

    def _loader_applies_orientation(self) -> bool:
        """Whether the pipeline's image loader rotates images by their EXIF orientation tag."""
        for t in getattr(self.pipeline, "transforms", []):
            color_type = getattr(t, "color_type", None)
            if color_type is not None:
                return "ignore_orientation" not in color_type
        return True

    def _raise_record_problems(self, num_images: int) -> None:
        if self._maskless:
            raise DatasetError(
                f"{self.ann_file}: {len(self._maskless)} annotation(s) have no 'segmentation', but the pipeline "
                f"loads masks (LoadAnnotations with_mask=True), so a mask head would learn empty masks: "
                f"{'; '.join(self._maskless[:3])}. Add their segmentation, or train a box-only config "
                "(cascade_rcnn_*, or LoadAnnotations with_mask=False without mask heads)."
            )
        if self._size_problems:
            raise DatasetError(
                f"{self.ann_file}: {len(self._size_problems)} image(s) do not have the size their record "
                f"says, so boxes and masks would not line up: {'; '.join(self._size_problems[:3])}"
            )
        if self._bad_images:
            raise DatasetError(
                f"{self.ann_file}: {len(self._bad_images)} of {num_images} test image(s) cannot be read: "
                f"{'; '.join(self._bad_images[:3])}. Replace them, or skip them with "
                "skip_bad_images=True (tools/test.py --skip-bad-images): the metrics are then over the rest."
            )

    def _load_coco(self, path: str) -> COCO:
        try:
            coco = read_coco(path)
        except JsonFileError as exc:  # the user's name for the file, not a local copy's
            raise DatasetError(f"{self.ann_file}: not a readable COCO annotation file: {exc.reason}") from None
        except Exception as exc:  # records without the keys pycocotools indexes by
            raise DatasetError(f"{self.ann_file}: not a readable COCO annotation file: {exc!r}") from exc
        for key in ("images", "categories"):
            if not coco.dataset.get(key):
                raise DatasetError(f"{self.ann_file}: the annotation file has no '{key}'")
        self.adapt_records(coco)
        for key, what in (("images", "image"), ("annotations", "annotation")):
            ids = Counter(r.get("id") for r in coco.dataset.get(key, []))
            dup = sorted(i for i, n in ids.items() if n > 1)[:5]
            if dup:
                names = [r.get("file_name", "") for r in coco.dataset[key] if r.get("id") == dup[0]]
                raise DatasetError(
                    f"{self.ann_file}: duplicate {what} ids {dup} ({what} id {dup[0]}: "
                    f"{len(names)} records{', files ' + ', '.join(names[:3]) if any(names) else ''}); "
                    f"pycocotools keeps only the last of each, so ground truth would be lost"
                )
        zero = [a for a in coco.dataset.get("annotations", []) if a.get("id") == 0]
        if zero:
            raise DatasetError(
                f"{self.ann_file}: annotation id 0 (image_id {zero[0].get('image_id')}): "
                "pycocotools treats id 0 as 'unmatched' and mis-scores it; "
                "number annotations from 1"
            )
        check_categories(coco.dataset["categories"], self.ann_file)
        check_image_records(coco.dataset["images"], self.ann_file)
        images = {img.get("id"): img for img in coco.dataset["images"]}
        check_annotation_records(coco.dataset.get("annotations", []), images, coco.dataset["categories"], self.ann_file)
        return coco

    def adapt_records(self, coco: COCO) -> None:
        """Bring another layout's records to COCO's, in place, before they are checked (LVIS:
        file names from ``coco_url``, class names from the file); COCO's own: nothing to do."""

    def _parse_image(self, coco: COCO, img_id: int, apply_orientation: bool = True) -> dict | None:
        img = coco.imgs[img_id]
        img_path = osp.join(self.data_prefix.get("img", ""), img["file_name"])
        if self.check_image_files and not exists(img_path, backend_args=self.backend_args):
            self._skip("missing image file", f"{img_path} (image id {img_id})")
            return None
        if self.check_image_headers:
            problem = probe_image_file(img_path, img["height"], img["width"], apply_orientation)
            if problem is not None and problem.kind == "size":
                self._size_problems.append(f"{problem.message} (image id {img_id})")
                return None
            if problem is not None:
                if self.test_mode and not self.skip_bad_images:
                    self._bad_images.append(f"{problem.message} (image id {img_id})")
                else:
                    self._skip("unreadable image", f"{problem.message} (image id {img_id})")
                return None
        instances = []
        for ann in coco.imgToAnns.get(img_id, []):
            instance = self._parse_instance(ann, img)
            if instance is not None:
                instances.append(instance)
        return dict(img_id=img_id, img_path=img_path, height=img["height"], width=img["width"], instances=instances)

    def _parse_instance(self, ann: dict, img: dict) -> dict | None:
        where = f"annotation id {ann.get('id')} (image {img['file_name']})"
        if ann["category_id"] not in self.cat2label:  # a category outside the classes trained on
            return None
        x, y, w, h = ann["bbox"]
        x1, y1 = max(0.0, x), max(0.0, y)
        x2, y2 = min(x + w, img["width"]), min(y + h, img["height"])
        if not (w > 0 and h > 0 and x2 > x1 and y2 > y1):
            self._skip("box with no area", f"{where}: bbox {ann['bbox']}")
            return None
        instance = dict(
            bbox=[x1, y1, x2, y2],
            bbox_label=self.cat2label[ann["category_id"]],
            ignore_flag=int(bool(ann.get("iscrowd", 0)) or bool(ann.get("ignore", 0))),
        )
        if ann.get("segmentation"):
            instance["mask"] = ann["segmentation"]
        elif self._needs_masks and not self.test_mode and not instance["ignore_flag"]:
            self._maskless.append(where)
        return instance

    def _skip(self, reason: str, detail: str) -> None:
        self.skipped[reason] += 1
        if self.skipped[reason] <= 5:
            warnings.warn(f"{self.ann_file}: skipped {reason}: {detail}", stacklevel=2)

    def _report_skips(self) -> None:
        if self.skipped:
            summary = ", ".join(f"{n} x {reason}" for reason, n in self.skipped.items())
            warnings.warn(f"{self.ann_file}: skipped records: {summary}", stacklevel=2)

    def filter_data(self) -> list[dict]:
        """Drop images without usable ground truth (``filter_empty_gt``) or smaller than ``min_size``.

        Raises:
            DatasetError: no image is left, with how many were dropped for which reason.
        """
        dropped: Counter = Counter()
        if self.test_mode or not self.filter_cfg:
            kept = self.data_list
        else:
            filter_empty = self.filter_cfg.get("filter_empty_gt", False)
            min_size = self.filter_cfg.get("min_size", 0)
            kept = []
            for info in self.data_list:
                if filter_empty and not any(not i["ignore_flag"] for i in info["instances"]):
                    dropped["without a usable box (filter_cfg.filter_empty_gt)"] += 1
                    continue
                if min(info["width"], info["height"]) < min_size:
                    dropped[f"smaller than filter_cfg.min_size={min_size} pixels"] += 1
                    continue
                kept.append(info)
        if not kept:
            reasons = dropped + Counter({f"skipped ({k})": n for k, n in self.skipped.items()})
            why = ", ".join(f"{n} {reason}" for reason, n in reasons.items()) or "the file lists no usable image"
            raise DatasetError(
                f"{self.ann_file}: no image is left to {'test' if self.test_mode else 'train'} on "
                f"({len(self.coco.getImgIds())} in the file: {why})"
            )
        return kept

    def get_cat_ids(self, idx: int) -> list[int]:
        return [i["bbox_label"] for i in self.get_data_info(idx)["instances"]]
