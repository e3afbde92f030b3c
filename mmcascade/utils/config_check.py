"""Check every ``type=`` of a config against its registry before anything is built, so a typo
fails in the first second with the key path and the nearest registered names, not an hour in."""
import difflib
from collections.abc import Iterator

import mmcv.ops
from mmengine.config import Config
from mmengine.registry import WEIGHT_INITIALIZERS, Registry

from mmcascade import registry as R

# Keys whose dict is built by a registry other than the one of the surrounding section.
_KEY_REGISTRY = {
    "init_cfg": WEIGHT_INITIALIZERS, "pipeline": R.TRANSFORMS, "dataset": R.DATASETS,
    "batch_sampler": R.DATA_SAMPLERS, "vis_backends": R.VISBACKENDS,
}
# The same inside a model (its training components are task utilities).
_MODEL_KEY_REGISTRY = dict(
    _KEY_REGISTRY, assigner=R.TASK_UTILS, sampler=R.TASK_UTILS, bbox_coder=R.TASK_UTILS,
    anchor_generator=R.TASK_UTILS, prior_generator=R.TASK_UTILS, iou_calculator=R.TASK_UTILS)
# Top-level sections and their registries.
_SECTION_REGISTRY = {
    "model": R.MODELS, "tta_model": R.MODELS, "train_pipeline": R.TRANSFORMS, "test_pipeline": R.TRANSFORMS,
    "tta_pipeline": R.TRANSFORMS, "train_dataloader": R.DATA_SAMPLERS, "val_dataloader": R.DATA_SAMPLERS,
    "test_dataloader": R.DATA_SAMPLERS, "val_evaluator": R.METRICS, "test_evaluator": R.METRICS,
    "default_hooks": R.HOOKS, "custom_hooks": R.HOOKS, "visualizer": R.VISUALIZERS,
    "param_scheduler": R.PARAM_SCHEDULERS, "optim_wrapper": R.OPTIM_WRAPPERS,
    "train_cfg": R.LOOPS, "val_cfg": R.LOOPS, "test_cfg": R.LOOPS,
}
# Keys whose ``type`` is not a registry name (ops looked up by attribute, NMS kinds, opaque cfgs).
_SKIP_KEYS = {"nms", "roi_layer", "optimizer", "loss_scale", "data_preprocessor_cfg", "upsample_cfg",
              "norm_cfg", "act_cfg", "conv_cfg"}


class UnknownTypeError(KeyError):
    """A ``type=`` that no registry in scope knows."""

    def __str__(self) -> str:  # KeyError would print the message quoted
        return str(self.args[0])


def _registered_names(registry: Registry) -> list[str]:
    names, reg = set(), registry
    while reg is not None:
        names.update(reg.module_dict)
        reg = reg.parent
    return sorted(names)


def _walk(node, path: str, registry: Registry | None) -> Iterator[tuple[str, str, Registry]]:
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and registry is not None:
            yield path, node["type"], registry
        for key, value in node.items():
            if key in _SKIP_KEYS:
                continue
            in_model = path.startswith(("model", "tta_model"))
            child = (_MODEL_KEY_REGISTRY if in_model else _KEY_REGISTRY).get(key, registry)
            yield from _walk(value, f"{path}.{key}", child)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f"{path}[{i}]", registry)


def check_config_types(cfg: Config) -> None:
    """Raise :class:`UnknownTypeError` for the first ``type=`` no registry knows."""
    for section, registry in _SECTION_REGISTRY.items():
        if section not in cfg:
            continue
        for path, name, reg in _walk(cfg[section], section, registry):
            if reg.get(name) is not None or (reg is R.MODELS and hasattr(mmcv.ops, name)):
                continue
            close = difflib.get_close_matches(name, _registered_names(reg), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise UnknownTypeError(
                f"{path}.type = {name!r} is not registered in the '{reg.name}' registry "
                f"(scope '{reg.scope}'){hint}")
