"""CocoDataset loading and validation, transforms, batch sampler, embedded generator."""

import hashlib
import json
import os
import os.path as osp
import random

import numpy as np
import pytest
from mmengine.dataset import DefaultSampler

from mmcascade.datasets import (
    AspectRatioBatchSampler,
    CocoDataset,
    DatasetError,
    EmbeddedSpec,
    generate_embedded_dataset,
)
from mmcascade.datasets.transforms import LoadAnnotations, LoadImageFromFile, PackDetInputs, Pad, RandomFlip, Resize
from mmcascade.datasets.transforms.transforms import flip_results
from mmcascade.registry import TRANSFORMS

from helpers.coco_fixtures import write_fixture

CLASSES = dict(classes=("cat", "dog"))


def build(root, ann=None, **kw):
    return CocoDataset(
        ann_file=ann or osp.join(root, "ann.json"), data_prefix=dict(img=str(root)), metainfo=CLASSES, pipeline=[], **kw
    )


def test_round_trip_boxes_crowd_labels(tmp_path):
    write_fixture(str(tmp_path))
    ds = build(tmp_path, test_mode=True)
    assert len(ds) == 2
    a, b = ds.get_data_info(0), ds.get_data_info(1)
    assert a["instances"][0]["bbox"] == [10, 5, 30, 35] and a["instances"][0]["bbox_label"] == 0
    assert a["instances"][1]["ignore_flag"] == 1 and a["instances"][1]["bbox_label"] == 1
    assert b["height"] == 80 and b["instances"][0]["bbox"] == [5, 10, 25, 30]


def test_polygon_and_rle_masks_and_pipeline(tmp_path):
    write_fixture(str(tmp_path))
    pipeline = [
        dict(type="LoadImageFromFile"),
        dict(type="LoadAnnotations", with_mask=True),
        dict(type="PackDetInputs"),
    ]
    ds = CocoDataset(
        ann_file=str(tmp_path / "ann.json"),
        data_prefix=dict(img=str(tmp_path)),
        metainfo=CLASSES,
        pipeline=pipeline,
        test_mode=True,
    )
    first = ds[0]["data_samples"]
    assert len(first.gt_instances) == 1 and len(first.ignored_instances) == 1
    mask = first.gt_instances.masks.masks[0]
    assert mask.shape == (60, 80) and mask[5:35, 10:30].mean() > 0.95 and mask.sum() < 700
    second = ds[1]["data_samples"]
    assert second.gt_instances.masks.masks[0].sum() == 400
    assert tuple(ds[1]["inputs"].shape) == (3, 80, 60)


def test_class_subset_and_empty_filter(tmp_path):
    write_fixture(str(tmp_path))
    ds = CocoDataset(
        ann_file=str(tmp_path / "ann.json"),
        data_prefix=dict(img=str(tmp_path)),
        metainfo=dict(classes=("dog",)),
        pipeline=[],
        filter_cfg=dict(filter_empty_gt=True),
    )
    # image 1 has only a crowd dog and a cat (outside the subset): no usable gt, so it is dropped
    assert [ds.get_data_info(i)["img_id"] for i in range(len(ds))] == [2]
    assert ds.get_data_info(0)["instances"][0]["bbox_label"] == 0
    with pytest.raises(DatasetError, match="horse"):
        CocoDataset(ann_file=str(tmp_path / "ann.json"), metainfo=dict(classes=("horse",)), pipeline=[])


def test_bad_records_are_skipped_and_counted(tmp_path):
    anns = [
        dict(id=1, image_id=1, category_id=1, bbox=[10, 5, 0, 30], area=0, iscrowd=0),
        dict(id=2, image_id=1, category_id=1, bbox=[10, 5, -4, 30], area=0, iscrowd=0),
        dict(id=4, image_id=1, category_id=1, bbox=[10, 5, 10, 10], area=100, iscrowd=0),
    ]
    images = [
        dict(id=1, file_name="a.png", height=60, width=80),
        dict(id=2, file_name="missing.png", height=60, width=80),
    ]
    write_fixture(str(tmp_path), annotations=anns, images=images[:1])
    with open(tmp_path / "ann.json") as f:
        data = json.load(f)
    data["images"] = images
    with open(tmp_path / "ann.json", "w") as f:
        json.dump(data, f)
    with pytest.warns(UserWarning) as record:
        ds = build(tmp_path)
    messages = " ".join(str(w.message) for w in record)
    assert "missing.png" in messages and "annotation id 1" in messages
    assert ds.skipped == {"box with no area": 2, "missing image file": 1}
    assert len(ds.get_data_info(0)["instances"]) == 1


@pytest.mark.parametrize(
    "content, match",
    [
        ("", "not a readable COCO"),
        ('{"images": [], "annotations": [], "categories": []}', "no 'images'"),
    ],
)
def test_unusable_annotation_files(tmp_path, content, match):
    (tmp_path / "ann.json").write_text(content)
    with pytest.raises(DatasetError, match=match):
        build(tmp_path)


def test_annotation_id_zero_is_an_error(tmp_path):
    write_fixture(
        str(tmp_path), annotations=[dict(id=0, image_id=1, category_id=1, bbox=[1, 1, 5, 5], area=25, iscrowd=0)]
    )
    with pytest.raises(DatasetError, match="annotation id 0"):
        build(tmp_path)


def test_corrupt_image_is_reported_and_skipped(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.warns(UserWarning, match="bad.png"):
        assert LoadImageFromFile().transform(dict(img_path=str(tmp_path / "bad.png"))) is None


def _results(tmp_path):
    write_fixture(str(tmp_path))
    ds = build(tmp_path, test_mode=True)
    info = ds.get_data_info(0)
    res = LoadImageFromFile().transform(dict(info))
    return LoadAnnotations(with_mask=True).transform(res)


def test_flip_twice_is_identity(tmp_path):
    res = _results(tmp_path)
    boxes, masks = res["gt_bboxes"].numpy(), res["gt_masks"].masks.copy()
    once = flip_results(dict(res), "horizontal")
    assert once["gt_bboxes"].numpy()[0].tolist() == [50, 5, 70, 35]
    assert once["gt_masks"].masks[0, 10, 79 - 15] == masks[0, 10, 15]
    twice = flip_results(dict(once), "horizontal")
    assert np.array_equal(twice["gt_bboxes"].numpy(), boxes) and np.array_equal(twice["gt_masks"].masks, masks)
    random.seed(0)
    flipped = RandomFlip(prob=1.0).transform(dict(res))
    assert flipped["flip"] and flipped["flip_direction"] == "horizontal"


def test_resize_scale_factors_boxes_and_masks(tmp_path):
    res = _results(tmp_path)
    out = Resize(scale=(1333, 800), keep_ratio=True).transform(dict(res))
    # 60x80 -> short side 800 would make the long side 1067 <= 1333: factor 800 / 60
    assert out["img_shape"] == (800, 1067)
    w_scale, h_scale = out["scale_factor"]
    assert w_scale == pytest.approx(1067 / 80) and h_scale == pytest.approx(800 / 60)
    assert out["gt_bboxes"].numpy()[0].tolist() == pytest.approx(
        [10 * w_scale, 5 * h_scale, 30 * w_scale, 35 * h_scale]
    )
    assert out["gt_masks"].masks.shape == (2, 800, 1067)
    fixed = Resize(scale=(40, 30), keep_ratio=False).transform(dict(res))
    assert fixed["img_shape"] == (30, 40) and fixed["scale_factor"] == (0.5, 0.5)


def test_pad_and_pack(tmp_path):
    res = _results(tmp_path)
    padded = Pad(size_divisor=32).transform(dict(res))
    assert padded["img"].shape[:2] == (64, 96) and padded["gt_masks"].masks.shape[1:] == (64, 96)
    packed = PackDetInputs().transform(dict(res))
    assert packed["inputs"].shape == (3, 60, 80)
    assert packed["data_samples"].gt_instances.labels.tolist() == [0]
    assert TRANSFORMS.get("PackDetInputs") is PackDetInputs


def test_aspect_ratio_batches_are_homogeneous(tmp_path):
    write_fixture(
        str(tmp_path),
        images=[
            dict(id=i, file_name=f"{i}.png", height=60 if i % 3 else 90, width=80 if i % 3 else 50)
            for i in range(1, 13)
        ],
        annotations=[],
    )
    ds = build(tmp_path, test_mode=True)
    sampler = AspectRatioBatchSampler(DefaultSampler(ds, shuffle=True, seed=0), batch_size=2)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(12))
    for batch in batches:
        shapes = {ds.get_data_info(i)["width"] >= ds.get_data_info(i)["height"] for i in batch}
        assert len(shapes) == 1
    assert len(sampler) == 6


def _digest(root):
    h = hashlib.sha256()
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            with open(osp.join(dirpath, name), "rb") as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def test_embedded_generator_is_deterministic(tmp_path):
    spec = EmbeddedSpec(num_train=4, num_val=2, seed=7)
    generate_embedded_dataset(str(tmp_path / "a"), spec)
    generate_embedded_dataset(str(tmp_path / "b"), spec)
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    generate_embedded_dataset(str(tmp_path / "c"), EmbeddedSpec(num_train=4, num_val=2, seed=8))
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")
    with open(tmp_path / "a" / "annotations" / "train.json") as f:
        data = json.load(f)
    assert len(data["categories"]) == 5 and all(a["id"] >= 1 for a in data["annotations"])
    assert all(a["bbox"][2] > 0 and a["bbox"][3] > 0 for a in data["annotations"])


def test_random_resize_draws_within_range(tmp_path):
    from mmcascade.datasets.transforms import RandomResize

    res = _results(tmp_path)
    random.seed(0)
    rr = RandomResize(scale=[(1333, 640), (1333, 800)], keep_ratio=True)
    shorts = {min(rr.transform(dict(res))["img_shape"]) for _ in range(10)}
    assert all(640 <= s <= 800 for s in shorts) and len(shorts) > 1
    choice = RandomResize(scale=[(160, 120), (80, 60)], mode="choice", keep_ratio=False)
    assert {choice.transform(dict(res))["img_shape"] for _ in range(20)} == {(120, 160), (60, 80)}
