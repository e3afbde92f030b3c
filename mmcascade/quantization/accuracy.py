"""The accuracy gate: AP of an exported file on the first images of the config's val set, through
the config's own val dataloader (test pipeline) and val evaluator (pycocotools COCOeval), so that
the float32 and the int8 file are measured alike."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence

from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from tqdm import tqdm

from mmcascade.deploy.backend_detector import backend_model_cfg
from mmcascade.deploy.contract import ExportError
from mmcascade.registry import EVALUATOR, MODELS

AP_KEYS = {"bbox": "coco/bbox_mAP", "segm": "coco/segm_mAP"}


class AccuracyGateError(ExportError):
    """The int8 file's AP fell by more than the allowed drop; nothing was written."""


def evaluate_exported(
    cfg: Config, model_files: Sequence[str | os.PathLike], count: int, desc: str = "AP"
) -> tuple[list[dict[str, float]], int]:
    """The val evaluator's metrics of each of ``model_files`` run in OpenVINO on the first
    ``count`` images of ``cfg.val_dataloader``'s dataset, in one pass over the images (each
    loaded and prepared once, one at a time, with a progress bar).

    Returns:
        ``(metrics of each file, number of images evaluated)`` (fewer than ``count`` when the
        val set is smaller).
    """
    if count < 1:
        raise ValueError(f"--eval-size {count}: at least one image is needed")
    with DefaultScope.overwrite_default_scope("mmcascade"):
        models = [MODELS.build(backend_model_cfg(cfg, str(f), "openvino")) for f in model_files]
        loader_cfg = copy.deepcopy(cfg.val_dataloader)
        loader_cfg.update(batch_size=1, num_workers=0, persistent_workers=False)
        loader_cfg.pop("batch_sampler", None)
        loader_cfg["dataset"]["indices"] = count
        loader = Runner.build_dataloader(loader_cfg)
        evaluators = [EVALUATOR.build(dict(type="Evaluator", metrics=copy.deepcopy(cfg.val_evaluator))) for _ in models]
        for evaluator in evaluators:
            evaluator.dataset_meta = loader.dataset.metainfo
        for batch in tqdm(loader, desc=desc, unit="img"):
            for model, evaluator in zip(models, evaluators):
                mine = copy.deepcopy(batch)  # each model writes its predictions into the samples
                evaluator.process(data_samples=model.test_step(mine), data_batch=mine)
        n = len(loader.dataset)
        return [evaluator.evaluate(n) for evaluator in evaluators], n


def ap_drop(fp32: Mapping[str, float], int8: Mapping[str, float]) -> dict[str, float]:
    """AP points (0-100) lost by the int8 file, per task the evaluator reports (box, mask)."""
    return {task: round(100 * (fp32[key] - int8[key]), 2) for task, key in AP_KEYS.items() if key in fp32}


def ap_points(metrics: Mapping[str, float]) -> dict[str, float]:
    """Box (and mask) AP as points (0-100)."""
    return {task: round(100 * metrics[key], 2) for task, key in AP_KEYS.items() if key in metrics}
