"""Pipelines carry ``gt_bboxes`` as :class:`HorizontalBoxes` (``LoadAnnotations(box_type='hbox')``,
the default) so that a transform written for MMDetection, which calls ``translate_``, ``clip_``,
``is_inside``, ``areas`` on them, runs unchanged between mmcascade's own transforms. The values
are MMDetection 3.3.0's for the same pipeline, image and annotations (the same custom transform
registered there)."""

import numpy as np
import pytest
import torch
from mmcv.transforms import BaseTransform, Compose
from mmengine.structures import InstanceData

from mmcascade.registry import MODELS, TRANSFORMS
from mmcascade.structures import DetDataSample
from mmcascade.structures.bbox import HorizontalBoxes


class ShiftAndDrop(BaseTransform):
    """A user's transform as written for MMDetection 3: box-object methods only."""

    def transform(self, results: dict) -> dict:
        boxes = results["gt_bboxes"]
        boxes.translate_((-7, 4))
        boxes.clip_(results["img_shape"])
        keep = (boxes.is_inside(results["img_shape"]) & (boxes.areas > 20)).numpy()
        for key in ("gt_bboxes", "gt_bboxes_labels", "gt_ignore_flags"):
            results[key] = results[key][keep]
        results["centers"] = boxes.centers.numpy().tolist()
        results["type_seen"] = type(boxes).__name__
        return results


IMG = (np.arange(60 * 80 * 3) % 251).astype(np.uint8).reshape(60, 80, 3)
INSTANCES = [
    dict(bbox=[10, 5, 30, 35], bbox_label=0, ignore_flag=0),
    dict(bbox=[2, 40, 9, 58], bbox_label=1, ignore_flag=0),
    dict(bbox=[50, 10, 79, 20], bbox_label=2, ignore_flag=1),
    dict(bbox=[0, 0, 5, 3], bbox_label=1, ignore_flag=0),
]
# MMDetection 3.3.0, same pipeline
MMDET_CENTERS = [[83.0, 34.0], [104.75, 77.0], [19.0, 26.5], [109.25, 6.25]]
MMDET_AFTER_CUSTOM = [
    [68.0, 11.5, 98.0, 56.5],
    [99.5, 64.0, 110.0, 90.0],
    [0.0, 19.0, 38.0, 34.0],
    [105.5, 4.0, 113.0, 8.5],
]
MMDET_GT = [[68.0, 11.5, 98.0, 56.5], [99.5, 64.0, 110.0, 90.0]]
MMDET_IGNORED = [[0.0, 19.0, 38.0, 34.0]]


@pytest.fixture(scope="module", autouse=True)
def custom_transform():
    TRANSFORMS.register_module(module=ShiftAndDrop, force=True)
    yield
    TRANSFORMS.module_dict.pop("ShiftAndDrop")


def _results() -> dict:
    return dict(img=IMG, img_shape=(60, 80), ori_shape=(60, 80), instances=list(INSTANCES), img_path="x.png", img_id=0)


def _pipeline(box_type: str | None = "hbox") -> list:
    return [
        TRANSFORMS.build(t)
        for t in (
            dict(type="LoadAnnotations", with_bbox=True, box_type=box_type),
            dict(type="Resize", scale=(120, 100), keep_ratio=True),
            dict(type="RandomFlip", prob=1.0, direction="horizontal"),
            dict(type="ShiftAndDrop"),
            dict(type="FilterAnnotations", min_gt_bbox_wh=(8, 8)),
            dict(type="PackDetInputs", meta_keys=("img_shape", "scale_factor", "flip", "flip_direction")),
        )
    ]


def test_a_transform_written_for_mmdetection_gets_box_objects_and_mmdetections_values():
    transforms = _pipeline()
    mid = Compose(transforms[:4])(_results())
    assert mid["type_seen"] == "HorizontalBoxes" and isinstance(mid["gt_bboxes"], HorizontalBoxes)
    assert mid["centers"] == MMDET_CENTERS
    assert mid["gt_bboxes"].tensor.tolist() == MMDET_AFTER_CUSTOM
    sample = Compose(transforms)(_results())["data_samples"]
    # inside the model boxes are plain tensors (MMDetection keeps the box object there)
    assert type(sample.gt_instances.bboxes) is torch.Tensor
    assert sample.gt_instances.bboxes.tolist() == MMDET_GT and sample.gt_instances.labels.tolist() == [0, 1]
    assert sample.ignored_instances.bboxes.tolist() == MMDET_IGNORED
    assert sample.metainfo["img_shape"] == (90, 120) and sample.metainfo["scale_factor"] == (1.5, 1.5)


def test_box_type_none_loads_arrays_and_the_transforms_keep_them():
    loaded = TRANSFORMS.build(dict(type="LoadAnnotations", box_type=None))(_results())
    assert type(loaded["gt_bboxes"]) is np.ndarray and loaded["gt_bboxes"].dtype == np.float32  # as MMDetection
    transforms = [t for t in _pipeline(box_type=None) if type(t).__name__ != "ShiftAndDrop"]
    out = Compose(transforms[:3])(_results())
    assert type(out["gt_bboxes"]) is np.ndarray
    boxed = Compose([t for t in _pipeline() if type(t).__name__ != "ShiftAndDrop"][:3])(_results())
    assert out["gt_bboxes"].tolist() == boxed["gt_bboxes"].numpy().tolist()  # same values either way


def test_an_unknown_box_type_is_refused_when_the_pipeline_is_built():
    with pytest.raises(KeyError, match="'rbox' is not registered"):
        TRANSFORMS.build(dict(type="LoadAnnotations", box_type="rbox"))


def test_box_objects_packed_by_a_users_pipeline_reach_the_model_as_tensors():
    sample = DetDataSample(metainfo=dict(img_shape=(8, 8)))
    sample.gt_instances = InstanceData(bboxes=HorizontalBoxes([[1.0, 2.0, 5.0, 6.0]]), labels=torch.tensor([0]))
    preprocessor = MODELS.build(dict(type="DetDataPreprocessor", pad_size_divisor=32))
    out = preprocessor(dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)], data_samples=[sample]), training=True)
    bboxes = out["data_samples"][0].gt_instances.bboxes
    assert type(bboxes) is torch.Tensor and bboxes.tolist() == [[1.0, 2.0, 5.0, 6.0]]
