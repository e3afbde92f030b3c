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
    "mmcascade.models.task_modules.assigners": ["BboxOverlaps2D", "MaxIoUAssigner"],
    "mmcascade.models.task_modules.assigners.iou2d_calculator": ["BboxOverlaps2D"],
    "mmcascade.visualization.palette": ["get_palette", "palette_val", "jitter_color", "_get_adaptive_scales"],
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_mmdet_module_path(path):
    module = importlib.import_module(path)
    missing = [name for name in PATHS[path] if not hasattr(module, name)]
    assert not missing, f"{path} lacks {missing}"


def test_init_detector_takes_mmdetections_arguments_in_its_order():
    """``init_detector(config, checkpoint, palette, device, cfg_options)`` as MMDetection 3.3's
    (positional calls written for it land on the same parameters); mmcascade's own follow."""
    import inspect

    from mmcascade.apis import init_detector

    params = list(inspect.signature(init_detector).parameters.values())
    assert [p.name for p in params[:5]] == ["config", "checkpoint", "palette", "device", "cfg_options"]
    assert params[2].default == "none"
    # a call written for the old order (device third) is refused by name before any work
    with pytest.raises(ValueError, match="palette='cpu' looks like a device.*pass device='cpu'"):
        init_detector("no_such_config.py", None, "cpu")
    with pytest.raises(ValueError, match="palette 'purple' is neither"):
        init_detector("no_such_config.py", None, "purple")
