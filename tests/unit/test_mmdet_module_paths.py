"""Imports written for MMDetection keep working after ``mmdet`` -> ``mmcascade``: each path below
is MMDetection 3.3's, with the names users import from it."""

import importlib

import pytest

PATHS = {
    "mmcascade.structures.mask": ["BitmapMasks"],
    "mmcascade.structures.bbox": ["bbox_overlaps", "bbox2roi"],
    "mmcascade.models.data_preprocessors": ["DetDataPreprocessor", "BatchFixedSizePad"],
    "mmcascade.engine.hooks": ["DetVisualizationHook", "CheckpointHook"],
    "mmcascade.models.backbones.resnext": ["ResNeXt", "Bottleneck"],
    "mmcascade.models.backbones": ["ResNet", "ResNeXt"],
    "mmcascade.models.roi_heads.bbox_heads": ["ConvFCBBoxHead", "Shared2FCBBoxHead", "Shared4Conv1FCBBoxHead"],
    "mmcascade.evaluation": ["CocoMetric", "DumpDetResults"],
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_mmdet_module_path(path):
    module = importlib.import_module(path)
    missing = [name for name in PATHS[path] if not hasattr(module, name)]
    assert not missing, f"{path} lacks {missing}"
