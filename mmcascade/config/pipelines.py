"""The test pipeline of a config as inference runs it: without annotation loading, from a file or
from an in-memory array; and the flip test-time augmentation built around it."""

import copy

from mmengine.config import Config
from mmengine.dataset import Compose

ANNOTATION_LOADERS = ("LoadAnnotations", "mmcascade.LoadAnnotations")


def test_pipeline_steps(cfg: Config) -> list[dict]:
    """The config's test pipeline without ``LoadAnnotations`` (inference has no annotations)."""
    steps = copy.deepcopy(list(cfg.test_dataloader.dataset.pipeline))
    return [dict(s) for s in steps if s["type"] not in ANNOTATION_LOADERS]


def build_test_pipeline(steps: list[dict], from_array: bool) -> Compose:
    """``steps`` composed; with ``from_array`` the first step (the file loader) reads a BGR array
    given as ``img`` instead (``LoadImageFromNDArray``)."""
    steps = copy.deepcopy(steps)
    if from_array:
        steps[0] = dict(type="LoadImageFromNDArray")
    return Compose(steps)


def tta_settings(cfg: Config) -> tuple[dict, list]:
    """``(tta_model, tta_pipeline)`` for ``tools/test.py --tta``: the config's own, or, when it
    defines none, a horizontal-flip TTA built from its test pipeline (each image at the test
    scale, as it is and flipped; the views merged by class-wise NMS at the model's test IoU
    and ``max_per_img``).

    Raises:
        ValueError: the test pipeline has no ``Resize`` step to place the flip after.
    """
    if "tta_model" in cfg and "tta_pipeline" in cfg:
        return cfg.tta_model, cfg.tta_pipeline
    if "tta_model" in cfg or "tta_pipeline" in cfg:
        raise ValueError(
            "the config defines only one of tta_model and tta_pipeline; --tta needs both "
            "(or neither, for the default flip TTA)"
        )
    steps = [dict(s) for s in cfg.test_dataloader.dataset.pipeline]
    resize = [i for i, s in enumerate(steps) if str(s.get("type", "")).split(".")[-1] in ("Resize", "RandomResize")]
    if not resize:
        raise ValueError("--tta: the test pipeline has no Resize step to build the flip TTA around")
    i = resize[0]
    rest = steps[i + 1 :]
    pack = rest[-1] if rest and str(rest[-1].get("type", "")).endswith("PackDetInputs") else None
    if pack is not None and "meta_keys" in pack:
        pack["meta_keys"] = tuple(dict.fromkeys((*pack["meta_keys"], "flip", "flip_direction")))
    pipeline = steps[:i] + [
        dict(
            type="TestTimeAug",
            transforms=[
                [steps[i]],
                [dict(type="RandomFlip", prob=1.0), dict(type="RandomFlip", prob=0.0)],
                *[[s] for s in rest],
            ],
        )
    ]
    rcnn = (cfg.model.get("test_cfg") or {}).get("rcnn") or {}
    nms = dict(rcnn.get("nms") or dict(type="nms", iou_threshold=0.5))
    model = dict(type="DetTTAModel", tta_cfg=dict(nms=nms, max_per_img=rcnn.get("max_per_img", 100)))
    return model, pipeline
