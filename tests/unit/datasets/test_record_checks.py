"""Bad COCO files refused when the dataset is built, naming the file, record and field; image files
checked against their records from the header alone."""

import json
import os.path as osp

import cv2
import numpy as np
import pytest
from PIL import Image

from mmcascade.datasets import CocoDataset, DatasetError
from mmcascade.datasets.record_checks import probe_image_file

from helpers.coco_fixtures import write_fixture

CLASSES = dict(classes=("cat", "dog"))


def build(root, **kw):
    return CocoDataset(
        ann_file=osp.join(root, "ann.json"), data_prefix=dict(img=str(root)), metainfo=CLASSES, pipeline=[], **kw
    )


def edit(root, change):
    path = osp.join(root, "ann.json")
    data = json.load(open(path))
    change(data)
    json.dump(data, open(path, "w"))


def ann(**kw):
    return dict(dict(id=7, image_id=1, category_id=1, bbox=[10, 5, 20, 30], area=600, iscrowd=0), **kw)


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda d: d["categories"].append(dict(id=1, name="horse")),
            "duplicate category ids: id 1 is 'cat', 'horse'",
        ),
        (lambda d: d["categories"].append(dict(id=9, name="cat")), "duplicate category names: 'cat' has ids [1, 9]"),
        (
            lambda d: d["annotations"].append(ann(category_id=42)),
            "annotation id 7, image a.png: field 'category_id' is 42, not a category",
        ),
        (lambda d: d["annotations"].append(ann(image_id=5)), "annotation id 7: field 'image_id' is 5"),
        (lambda d: d["annotations"].append(ann(bbox=[10, "5", 20, 30])), "field 'bbox' is [10, '5', 20, 30]"),
        (lambda d: d["annotations"].append(ann(bbox=[10, 5, float("nan"), 30])), "not four finite numbers"),
        (lambda d: d["annotations"].append(ann(bbox=[10, 5, 20])), "field 'bbox' is [10, 5, 20]"),
        (
            lambda d: d["annotations"].append(ann(segmentation=[[10, 5, 30, 5]])),
            "polygon 0 has 4 coordinates: a polygon needs at least 3 points",
        ),
        (
            lambda d: d["annotations"].append(ann(segmentation=dict(size=[80, 60], counts="abc"))),
            "an RLE of size [80, 60] but its image is [60, 80]",
        ),
        (lambda d: d["images"][0].pop("width"), "image id 1 (a.png): field 'width' is missing"),
        (lambda d: d["images"][1].update(height=0), "image id 2 (b.png): field 'height' is 0, not a positive integer"),
    ],
)
def test_bad_records_are_refused_by_name(tmp_path, change, expected):
    write_fixture(str(tmp_path))
    edit(tmp_path, change)
    with pytest.raises(DatasetError) as err:
        build(tmp_path)
    assert expected in str(err.value) and "ann.json" in str(err.value)


def test_image_size_mismatch_names_the_likely_cause(tmp_path):
    write_fixture(str(tmp_path))  # a.png is 60x80 (h x w), b.png 80x60
    edit(tmp_path, lambda d: d["images"][0].update(height=80, width=60))
    with pytest.raises(
        DatasetError,
        match="a.png: the annotation says 80x60 .* decodes as 60x80; the annotation file has width and height swapped",
    ):
        build(tmp_path)
    edit(tmp_path, lambda d: d["images"][0].update(height=50, width=50))
    with pytest.raises(DatasetError, match="describes another image"):
        build(tmp_path, test_mode=True)


def exif_rotated_jpeg(path, h, w):
    """A JPEG stored h x w whose EXIF orientation (6: rotate 90) makes loaders show it w x h."""
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.full((h, w, 3), 100, np.uint8)).save(path, exif=exif)


def test_exif_rotation_is_named_and_ignore_orientation_accepted(tmp_path):
    images = [dict(id=1, file_name="r.jpg", height=60, width=80)]  # the stored frame
    exif_rotated_jpeg(str(tmp_path / "r.jpg"), 60, 80)
    write_fixture(str(tmp_path), images=images, annotations=[ann(id=1)])
    decoded = cv2.imread(str(tmp_path / "r.jpg"))
    assert decoded.shape[:2] == (80, 60)  # OpenCV applies the tag, as the default loader does
    with pytest.raises(DatasetError, match="EXIF orientation tag \\(6\\) rotates it"):
        build(tmp_path)
    ignore = [dict(type="LoadImageFromFile", color_type="color_ignore_orientation")]
    ds = CocoDataset(
        ann_file=str(tmp_path / "ann.json"), data_prefix=dict(img=str(tmp_path)), metainfo=CLASSES, pipeline=ignore
    )
    assert len(ds) == 1


def test_truncated_images_refused_at_test_time_skipped_when_asked_or_training(tmp_path):
    write_fixture(str(tmp_path))
    data = (tmp_path / "a.png").read_bytes()
    (tmp_path / "a.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="1 of 2 test image\\(s\\) cannot be read: .*a.png: .*truncated"):
        build(tmp_path, test_mode=True)
    with pytest.warns(UserWarning, match="unreadable image"):
        ds = build(tmp_path, test_mode=True, skip_bad_images=True)
    assert len(ds) == 1 and ds.skipped == {"unreadable image": 1}
    with pytest.warns(UserWarning, match="a.png"):
        assert len(build(tmp_path)) == 1  # training: skipped with a warning


def test_probe_reads_only_the_header(tmp_path):
    path = str(tmp_path / "x.jpg")
    cv2.imwrite(path, np.random.default_rng(0).integers(0, 255, (300, 400, 3), dtype=np.uint8))
    assert probe_image_file(path, 300, 400) is None
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8 not really")
    assert probe_image_file(str(tmp_path / "junk.jpg"), 30, 40).kind == "unreadable"
    data = open(path, "rb").read()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])  # a copy cut short: header intact
    assert probe_image_file(str(tmp_path / "cut.jpg"), 300, 400).message.endswith(
        "the JPEG file is truncated (its end marker is missing)"
    )


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d.update(annotations=[]), "no image is left to train on (2 in the file: 2 without a usable box"),
        (
            lambda d: [a.update(bbox=[1, 1, 0, 0]) for a in d["annotations"]],
            "2 without a usable box (filter_cfg.filter_empty_gt), 3 skipped (box with no area)",
        ),
    ],
)
def test_an_empty_dataset_says_why(tmp_path, change, expected):
    write_fixture(str(tmp_path))
    edit(tmp_path, change)
    with pytest.raises(DatasetError) as err:
        build(tmp_path, filter_cfg=dict(filter_empty_gt=True))
    assert expected in str(err.value)


def test_every_image_too_small_or_missing_says_why(tmp_path):
    write_fixture(str(tmp_path))
    with pytest.raises(DatasetError, match="2 smaller than filter_cfg.min_size=100 pixels"):
        build(tmp_path, filter_cfg=dict(min_size=100))
    edit(tmp_path, lambda d: [im.update(file_name="gone_" + im["file_name"]) for im in d["images"]])
    with pytest.raises(DatasetError, match="no image is left to test on .*2 skipped \\(missing image file\\)"):
        with pytest.warns(UserWarning):
            build(tmp_path, test_mode=True)


def test_annotations_without_masks_are_refused_when_masks_are_trained(tmp_path):
    write_fixture(str(tmp_path))
    edit(tmp_path, lambda d: d["annotations"][0].pop("segmentation"))
    pipeline = [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations", with_mask=True)]
    with pytest.raises(DatasetError, match=r"1 annotation\(s\) have no 'segmentation', but the pipeline loads masks"):
        build_with(tmp_path, pipeline)
    assert len(build_with(tmp_path, [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations")])) == 2  # boxes only


def build_with(root, pipeline):
    return CocoDataset(
        ann_file=osp.join(root, "ann.json"), data_prefix=dict(img=str(root)), metainfo=CLASSES, pipeline=pipeline
    )


def test_box_only_ground_truth_is_refused_for_segm_evaluation(tmp_path):
    from mmcascade.evaluation import CocoMetric

    write_fixture(str(tmp_path))
    edit(tmp_path, lambda d: d["annotations"][0].pop("segmentation"))
    with pytest.raises(ValueError, match="metric 'segm' needs a 'segmentation' for every annotation"):
        CocoMetric(ann_file=osp.join(tmp_path, "ann.json"), metric=["bbox", "segm"])
    CocoMetric(ann_file=osp.join(tmp_path, "ann.json"), metric="bbox")  # boxes are fine
