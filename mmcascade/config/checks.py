"""Check every ``type=`` of a config against its registry before anything is built, so a typo
fails in the first second with the key path and the nearest registered names, not an hour in."""

import difflib
from collections.abc import Iterator

from mmengine.config import Config
from mmengine.registry import WEIGHT_INITIALIZERS, Registry

from mmcascade import registry as R
from mmcascade.ops import mmcv_ops

# Keys whose dict is built by a registry other than the one of the surrounding section.
_KEY_REGISTRY = {
    "init_cfg": WEIGHT_INITIALIZERS,
    "pipeline": R.TRANSFORMS,
    "tile_pipeline": R.TRANSFORMS,
    "dataset": R.DATASETS,
    "batch_sampler": R.DATA_SAMPLERS,
    "vis_backends": R.VISBACKENDS,
}
# The same inside a model (its training components are task utilities).
_MODEL_KEY_REGISTRY = dict(
    _KEY_REGISTRY,
    assigner=R.TASK_UTILS,
    sampler=R.TASK_UTILS,
    bbox_coder=R.TASK_UTILS,
    anchor_generator=R.TASK_UTILS,
    prior_generator=R.TASK_UTILS,
    iou_calculator=R.TASK_UTILS,
)
# Top-level sections and their registries.
_SECTION_REGISTRY = {
    "model": R.MODELS,
    "tta_model": R.MODELS,
    "train_pipeline": R.TRANSFORMS,
    "test_pipeline": R.TRANSFORMS,
    "tta_pipeline": R.TRANSFORMS,
    "train_dataloader": R.DATA_SAMPLERS,
    "val_dataloader": R.DATA_SAMPLERS,
    "test_dataloader": R.DATA_SAMPLERS,
    "val_evaluator": R.METRICS,
    "test_evaluator": R.METRICS,
    "default_hooks": R.HOOKS,
    "custom_hooks": R.HOOKS,
    "visualizer": R.VISUALIZERS,
    "param_scheduler": R.PARAM_SCHEDULERS,
    "optim_wrapper": R.OPTIM_WRAPPERS,
    "train_cfg": R.LOOPS,
    "val_cfg": R.LOOPS,
    "test_cfg": R.LOOPS,
}
# Keys whose ``type`` is not a registry name (ops looked up by attribute, NMS kinds, opaque cfgs).
_SKIP_KEYS = {
    "nms",
    "roi_layer",
    "optimizer",
    "loss_scale",
    "data_preprocessor_cfg",
    "upsample_cfg",
    "norm_cfg",
    "act_cfg",
    "conv_cfg",
}


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


# MMDetection's detectors and heads of other families that its R-CNN folders' configs name
OTHER_FAMILIES = {
    "RetinaNet": "MMDetection's single-stage RetinaNet",
    "SingleStageDetector": "MMDetection's single-stage detector (SSD)",
    "SSDHead": "MMDetection's SSD head",
    "RetinaHead": "MMDetection's RetinaNet head",
    "GridRCNN": "MMDetection's Grid R-CNN (grid-point box localisation)",
    "GridRoIHead": "MMDetection's Grid R-CNN head",
}


def check_config_types(cfg: Config) -> None:
    """Raise :class:`UnknownTypeError` for the first ``type=`` no registry knows."""
    for section, registry in _SECTION_REGISTRY.items():
        if section not in cfg:
            continue
        for path, name, reg in _walk(cfg[section], section, registry):
            if reg.get(name) is not None or (reg is R.MODELS and hasattr(mmcv_ops(), name)):
                continue
            close = difflib.get_close_matches(name, _registered_names(reg), n=3, cutoff=0.5)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            if name in OTHER_FAMILIES:
                hint = f": {name} is {OTHER_FAMILIES[name]}, outside the two-stage R-CNN family this toolbox builds"
            raise UnknownTypeError(
                f"{path}.type = {name!r} is not registered in the '{reg.name}' registry (scope '{reg.scope}'){hint}"
            )


# Top-level keys that the Runner or the tools read after the config is parsed. Other top-level
# names in config files are variables, read only while the file is parsed.
RUNTIME_KEYS = frozenset(
    {
        "model",
        "work_dir",
        "train_dataloader",
        "val_dataloader",
        "test_dataloader",
        "train_cfg",
        "val_cfg",
        "test_cfg",
        "auto_scale_lr",
        "optim_wrapper",
        "param_scheduler",
        "val_evaluator",
        "test_evaluator",
        "default_hooks",
        "custom_hooks",
        "data_preprocessor",
        "load_from",
        "resume",
        "launcher",
        "env_cfg",
        "log_processor",
        "log_level",
        "visualizer",
        "default_scope",
        "randomness",
        "experiment_name",
        "model_wrapper_cfg",
        "find_unused_parameters",
        "compile",
        "activation_checkpointing",
        "efficient_conv_bn_eval",
        "runner_type",
        "custom_imports",
        "tta_model",
        "tta_pipeline",
        # read by mmcascade's tools: data_root re-points the paths built from it, classes sets heads and datasets
        "data_root",
        "classes",
    }
)


# Variables MMDetection-style configs commonly define and use while they are parsed.
CONFIG_VARIABLES = frozenset(
    {
        "train_pipeline",
        "test_pipeline",
        "val_pipeline",
        "dataset_type",
        "backend_args",
        "img_scale",
        "img_scales",
        "tta_scales",
        "norm_cfg",
        "num_classes",
        "vis_backends",
        "metainfo",
        "max_epochs",
        "max_iters",
        "base_lr",
        "batch_size",
        "num_workers",
        "image_size",
        "train_dataset",
        "val_dataset",
        "test_dataset",
        "mask_head",
    }
)


class UnusedConfigKeyError(KeyError):
    """A config key that nothing reads."""

    def __str__(self) -> str:
        return str(self.args[0])


def _nested_keys(node, path: str = "") -> list[str]:
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            full = f"{path}.{key}" if path else str(key)
            out.append(full)
            out += _nested_keys(value, full)
    return out


def check_cfg_options(cfg: Config, cfg_options: dict | None) -> None:
    """Refuse ``--cfg-options`` whose top-level key nothing reads (``max_epochs=1``: a variable
    of the config file, already substituted when the file was parsed), naming where that
    setting really lives (``train_cfg.max_epochs``).

    Raises:
        UnusedConfigKeyError
    """
    for option, value in (cfg_options or {}).items():
        top = str(option).split(".")[0]
        if top in RUNTIME_KEYS:
            _check_option_type(cfg, str(option), value)
            continue
        leaf = str(option).split(".")[-1]
        where = [k for k in _nested_keys({k: cfg[k] for k in RUNTIME_KEYS if k in cfg}) if k.endswith("." + leaf)]
        close = difflib.get_close_matches(top, sorted(RUNTIME_KEYS), n=1, cutoff=0.75)
        hint = f"; set {', '.join(where[:3])} instead" if where else f"; did you mean {close[0]!r}?" if close else ""
        raise UnusedConfigKeyError(
            f"--cfg-options {option}: nothing reads the top-level key {top!r} after the config is parsed "
            f"(a config variable is substituted where it is used while the file is read, so changing "
            f"it now would change nothing){hint}"
        )


def _current_value(cfg: Config, dotted: str) -> tuple[bool, object]:
    """``(found, value)`` of a dotted key (list items by index) in ``cfg``."""
    node: object = cfg._cfg_dict  # the ConfigDict behind the Config
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False, None
    return True, node


def _check_option_type(cfg: Config, option: str, value: object) -> None:
    """A number or a flag of the config given a word (``train_cfg.max_epochs=ten``) would fail
    deep in the run, or compare as text; refuse it naming the key and both values."""
    found, current = _current_value(cfg, option)
    if not found or current is None or not isinstance(value, str):
        return
    if isinstance(current, bool):
        expected = "True or False"
    elif isinstance(current, (int, float)):
        expected = "a number"
    else:
        return
    raise TypeError(
        f"--cfg-options {option}={value}: the config's value is {current!r}, so it expects {expected}, "
        f"not the text {value!r}"
    )


def check_top_level_typos(cfg: Config) -> None:
    """Refuse a top-level key that is a near miss of one the Runner reads (``defalt_hooks``),
    which would otherwise be ignored; other extra keys are the config's own variables.

    Raises:
        UnusedConfigKeyError
    """
    for key in cfg.keys():
        if key in RUNTIME_KEYS or key in CONFIG_VARIABLES or key.startswith("_"):
            continue
        close = difflib.get_close_matches(key, sorted(RUNTIME_KEYS), n=1, cutoff=0.85)
        if close:
            raise UnusedConfigKeyError(f"config key {key!r} is read by nothing; did you mean {close[0]!r}?")
