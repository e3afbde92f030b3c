"""No option silently dropped: every component dict in every config (zoo rows, Detectron rows,
embedded, base models) refuses a key it does not read, so every key it is given reaches code
that reads it. The probe is a key nothing knows; adding it to one dict at a time must make
building that dict fail with the probe's name (the configs themselves build elsewhere)."""

import copy
import glob
import os.path as osp

import pytest
from mmengine.config import Config, ConfigDict

from mmcascade import registry as R
from mmcascade.config.loading import load_tool_config

from helpers import REPO, tiny_model_cfg

PROBE = "probe_option_nothing_reads"
REFUSED = rf"{PROBE}|takes no arguments"  # a constructor without parameters refuses any option
CONFIGS = sorted(p for p in glob.glob(osp.join(REPO, "configs", "**", "*.py"), recursive=True) if "/_base_/" not in p)
BASE_MODELS = sorted(glob.glob(osp.join(REPO, "configs", "_base_", "models", "*.py")))
MODEL_KEY_REGISTRY = dict(
    assigner=R.TASK_UTILS,
    sampler=R.TASK_UTILS,
    pos_sampler=R.TASK_UTILS,
    neg_sampler=R.TASK_UTILS,
    bbox_coder=R.TASK_UTILS,
    anchor_generator=R.TASK_UTILS,
    prior_generator=R.TASK_UTILS,
)
OPAQUE = {"init_cfg", "norm_cfg", "act_cfg", "conv_cfg", "train_cfg", "test_cfg", "nms", "upsample_cfg"}


def _model_components(node, path: str, registry):
    """(path, registry, dict) of every buildable dict below a model config."""
    if isinstance(node, dict):
        if isinstance(node.get("type"), str) and registry is not None:
            yield path, registry, node
        for key, value in node.items():
            if key in OPAQUE or key == "roi_layer":
                continue
            yield from _model_components(value, f"{path}.{key}", MODEL_KEY_REGISTRY.get(key, R.MODELS))
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _model_components(value, f"{path}[{i}]", registry)


def _unique(items):
    seen, out = set(), []
    for path, registry, node in items:
        key = (registry.name, repr(sorted(ConfigDict(node).to_dict().items(), key=str)))
        if key not in seen:
            seen.add(key)
            out.append((path, registry, node))
    return out


def _all_model_components():
    items = []
    for path in CONFIGS + BASE_MODELS:
        cfg = Config.fromfile(path)
        items += [
            (f"{osp.basename(path)}:{p}", reg, node) for p, reg, node in _model_components(cfg.model, "model", R.MODELS)
        ]
    return _unique(items)


MODEL_COMPONENTS = _all_model_components()


def _assert_probe_refused(path: str, registry, node) -> None:
    """Building ``node`` with the probe key added fails, naming it."""
    probed = copy.deepcopy(ConfigDict(node))
    probed[PROBE] = 1
    if probed.get("type") in ("CascadeRCNN", "FasterRCNN", "MaskRCNN") and "backbone" in probed:
        probed.backbone.init_cfg = None
    if path.endswith(".dcn"):  # the ResNet reads fallback_on_stride and builds the conv with the rest
        probed.pop("fallback_on_stride", None)
    if registry is R.VISUALIZERS:  # instances are named singletons
        probed.name = f"probe_{abs(hash(path))}"
    with pytest.raises((TypeError, ValueError), match=REFUSED):
        registry.build(probed)


@pytest.mark.parametrize("path, registry, node", MODEL_COMPONENTS, ids=[p for p, _, _ in MODEL_COMPONENTS])
def test_model_components_refuse_what_they_do_not_read(path, registry, node):
    _assert_probe_refused(path, registry, node)


def _settings_blocks(model_cfg) -> list[tuple[str, dict]]:
    """The plain settings blocks of a model's train_cfg / test_cfg, as (path, block)."""
    blocks = []
    for part in ("train_cfg", "test_cfg"):
        cfg = model_cfg.get(part) or {}
        blocks.append((part, cfg))
        for key, value in cfg.items():
            for i, block in enumerate(value if isinstance(value, list) else [value]):
                if isinstance(block, dict):
                    blocks.append((f"{part}.{key}" + (f"[{i}]" if isinstance(value, list) else ""), block))
                    for sub in ("nms",):
                        if isinstance(block.get(sub), dict):
                            blocks.append((f"{part}.{key}.{sub}", block[sub]))
    return blocks


@pytest.mark.parametrize("path", CONFIGS + BASE_MODELS, ids=osp.basename)
def test_train_and_test_settings_refuse_what_nothing_reads(path):
    full = Config.fromfile(path).model
    for where, _block in _settings_blocks(full):
        tiny = ConfigDict(tiny_model_cfg("cascade-mask-rcnn_r50_fpn"))
        tiny.type = full.type
        tiny.train_cfg = copy.deepcopy(full.train_cfg)
        tiny.test_cfg = copy.deepcopy(full.test_cfg)
        target = tiny
        for part in where.replace("]", "").replace("[", ".").split("."):
            target = target[int(part)] if part.isdigit() else target[part]
        target[PROBE] = 1
        if "roi_head" not in full:  # the RPN alone
            tiny.pop("roi_head")
        elif full.type != "CascadeRCNN":  # the tiny model is a cascade; the base configs' own type
            tiny.roi_head = copy.deepcopy(full.roi_head)  # and RoI head, shrunk where they allow
        if full.get("rpn_head", "") is None:  # Fast R-CNN
            tiny.rpn_head = None
        with pytest.raises((TypeError, ValueError), match=PROBE):
            R.MODELS.build(tiny)


def _leaf_datasets(dataset):
    """The datasets inside wrappers (``RepeatDataset``'s ``dataset``, ``ConcatDataset``'s ``datasets``)."""
    if "datasets" in dataset:
        for inner in dataset.datasets:
            yield from _leaf_datasets(inner)
    elif "dataset" in dataset:
        yield from _leaf_datasets(dataset.dataset)
    else:
        yield dataset


def _pipelines_metrics_hooks(cfg: Config):
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        for j, dataset in enumerate(_leaf_datasets(cfg[loader].dataset)):
            for i, step in enumerate(dataset.pipeline):
                yield f"{loader}.dataset{j}.pipeline[{i}]", R.TRANSFORMS, step
            yield f"{loader}.dataset{j}", R.DATASETS, dataset
    for key in ("val_evaluator", "test_evaluator"):
        for i, metric in enumerate(cfg[key] if isinstance(cfg[key], list) else [cfg[key]]):
            yield f"{key}[{i}]", R.METRICS, metric
    for name, hook in cfg.default_hooks.items():
        yield f"default_hooks.{name}", R.HOOKS, hook
    for i, hook in enumerate(cfg.get("custom_hooks", [])):
        yield f"custom_hooks[{i}]", R.HOOKS, hook
    yield "visualizer", R.VISUALIZERS, cfg.visualizer


def _all_other_components():
    items = []
    for path in CONFIGS:
        cfg = load_tool_config(path)
        items += [(f"{osp.basename(path)}:{p}", reg, node) for p, reg, node in _pipelines_metrics_hooks(cfg)]
    return _unique(items)


OTHER_COMPONENTS = _all_other_components()


@pytest.mark.parametrize("path, registry, node", OTHER_COMPONENTS, ids=[p for p, _, _ in OTHER_COMPONENTS])
def test_transforms_metrics_hooks_refuse_what_they_do_not_read(path, registry, node):
    _assert_probe_refused(path, registry, node)
