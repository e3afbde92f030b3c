"""``PolygonMasks`` and ``LoadAnnotations(poly2mask=False)``, pinned to MMDetection 3.3.0's values
on the same polygons (``tests/data/mmdet_polygon_masks.json.gz``): geometry on the points,
rasterised bitmaps, mask targets, and the loader's ignored instances. Cropping clips each polygon
to the window here (MMDetection intersects with shapely): the points may differ, the rasterised
masks do not."""

import gzip
import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmcascade.registry import MODELS, TRANSFORMS
from mmcascade.structures import DetDataSample, PolygonMasks
from mmcascade.structures.bbox import HorizontalBoxes

from helpers import DATA, REPO

with gzip.open(os.path.join(DATA, "mmdet_polygon_masks.json.gz"), "rt") as f:
    MMDET = json.load(f)

POLYGONS = [
    [np.array([10.0, 10, 40, 12, 35, 45, 12, 38])],
    [np.array([50.0, 5, 78, 5, 78, 30]), np.array([55.0, 40, 70, 40, 70, 55, 55, 55])],
]


def masks() -> PolygonMasks:
    return PolygonMasks([[p.copy() for p in inst] for inst in POLYGONS], 60, 80)


def points(m: PolygonMasks) -> list:
    return [[p.tolist() for p in inst] for inst in m.masks]


def test_geometry_matches_mmdetection():
    scaled = masks().rescale((100, 90))
    assert [points(scaled), scaled.height, scaled.width] == MMDET["rescale"]
    assert points(masks().resize((90, 40))) == MMDET["resize"]
    for direction in ("horizontal", "vertical", "diagonal"):
        assert points(masks().flip(direction)) == MMDET[f"flip_{direction}"]
    assert points(masks().translate((60, 80), 15.5, "horizontal")) == MMDET["translate"]
    assert points(masks().translate((60, 80), -7, "vertical")) == MMDET["translate_v"]
    padded = masks().pad((64, 96))
    assert [padded.height, padded.width] == MMDET["pad"] and points(padded) == points(masks())


def test_measures_and_rasters_match_mmdetection():
    assert masks().get_bboxes().tolist() == MMDET["bboxes"]
    assert HorizontalBoxes.from_instance_masks(masks()).tensor.tolist() == MMDET["bboxes"]
    assert masks().areas.tolist() == MMDET["areas"]
    assert masks().to_ndarray().tolist() == MMDET["ndarray"]
    assert masks().to_bitmap().masks.tolist() == MMDET["ndarray"]
    assert [len(masks()[np.array([True, False])]), len(masks()[[1, 1]]), len(masks()[0])] == MMDET["index"]
    assert len(PolygonMasks.cat([masks(), masks()[1:]])) == 3


def test_crop_rasterises_as_mmdetection():
    cropped = masks().crop(np.array([20, 8, 75, 50]))
    assert [cropped.height, cropped.width] == MMDET["crop_shape"]
    assert cropped.to_ndarray().tolist() == MMDET["crop_bitmap"]
    assert points(masks().crop(np.array([0, 50, 8, 59]))) == MMDET["crop_empty"]  # nothing inside: a dummy


def test_mask_targets_match_mmdetection():
    boxes = torch.tensor([[8.0, 6.0, 42.0, 47.0], [48.0, 0.0, 90.0, 60.0], [0.0, 0.0, 30.0, 30.0]])
    targets = masks().crop_and_resize(boxes, 28, torch.tensor([0, 1, 0]))
    assert targets.dtype == torch.float32 and targets.int().tolist() == MMDET["crop_and_resize"]


def test_load_annotations_keeps_polygons_as_mmdetection():
    instances = [
        dict(bbox=[10, 10, 40, 45], bbox_label=0, ignore_flag=0, mask=[[10.0, 10, 40, 12, 35, 45, 12, 38]]),
        dict(bbox=[50, 5, 78, 55], bbox_label=1, ignore_flag=0, mask=[[50.0, 5, 78, 5, 78, 30], [1, 2]]),
        dict(bbox=[0, 0, 9, 9], bbox_label=2, ignore_flag=0, mask=[[1, 2, 3, 4]]),  # no valid polygon
        dict(bbox=[0, 0, 20, 20], bbox_label=0, ignore_flag=1, mask=dict(size=[60, 80], counts="PPPP")),  # RLE
    ]
    load = TRANSFORMS.build(dict(type="LoadAnnotations", with_bbox=True, with_mask=True, poly2mask=False))
    out = load(dict(img_shape=(60, 80), ori_shape=(60, 80), instances=instances))
    expected = MMDET["load"]
    assert type(out["gt_masks"]).__name__ == expected["type"]
    assert points(out["gt_masks"]) == expected["masks"]
    assert out["gt_ignore_flags"].tolist() == expected["ignore"]


def test_polygons_train_a_cascade_mask_model():
    cfg = Config.fromfile(os.path.join(REPO, "configs/cascade_rcnn/cascade_mask_rcnn_r50_fpn_1x_coco.py"))
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    sample = DetDataSample(metainfo=dict(img_shape=(60, 80), ori_shape=(60, 80), scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(masks().get_bboxes()), labels=torch.tensor([0, 5]), masks=masks()
    )
    data = model.data_preprocessor(
        dict(inputs=[torch.randint(0, 255, (3, 60, 80), dtype=torch.uint8)], data_samples=[sample]), True
    )
    assert data["data_samples"][0].gt_instances.masks.height == 64  # padded with the batch, points kept
    torch.manual_seed(0)
    losses = model.loss(data["inputs"], data["data_samples"])
    assert all(torch.isfinite(losses[f"s{i}.loss_mask"]) for i in range(3))


@pytest.mark.parametrize("bad", [np.array([1.0, 2.0]), "x"])
def test_refuses_what_is_not_polygons(bad):
    with pytest.raises(TypeError):
        PolygonMasks([bad], 10, 10) if isinstance(bad, np.ndarray) else PolygonMasks(bad, 10, 10)
