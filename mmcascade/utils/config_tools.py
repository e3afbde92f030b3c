"""Config handling shared by the command-line tools."""

import logging
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.logging import print_log

from .config_classes import apply_classes


def rebase_data_root(node, old: str, new: str):
    """``node`` with every string that starts with ``old`` (the config's own ``data_root``)
    re-pointed at ``new``: the datasets' roots and the evaluators' annotation files follow a
    changed ``data_root``."""
    if isinstance(node, dict):
        for key, value in node.items():
            node[key] = rebase_data_root(value, old, new)
        return node
    if isinstance(node, list):
        return [rebase_data_root(v, old, new) for v in node]
    if isinstance(node, tuple):
        return tuple(rebase_data_root(v, old, new) for v in node)
    if isinstance(node, str) and node.startswith(old):
        rest = node[len(old) :].lstrip("/")
        return new if not rest else new.rstrip("/") + "/" + rest
    return node


def load_tool_config(
    config: str, cfg_options: dict | None = None, work_dir: str | None = None, launcher: str = "none"
) -> Config:
    """Read ``config`` (a file, a shipped config's name or a model-zoo name: see
    :func:`mmcascade.zoo.manifest.find_config`), apply ``--cfg-options``, and set ``launcher`` and ``work_dir``
    (default ``./work_dirs/<config name>``, as MMDetection does).

    ``--cfg-options data_root=PATH`` re-points every path the config built from its own
    ``data_root`` (dataset roots, evaluator annotation files) at ``PATH``; a top-level
    ``classes = (...)`` sets every box / mask head and dataset (:func:`apply_classes`); an
    MMDetection 3 config's ``default_scope='mmdet'`` is adopted (:func:`adopt_default_scope`).
    """
    from mmcascade.zoo.manifest import find_config

    from .config_check import check_cfg_options
    from .config_files import check_config_file
    from .dist_env import check_launcher_env

    config = str(find_config(config))
    check_config_file(config)
    check_launcher_env(launcher)
    cfg = Config.fromfile(config)
    check_cfg_options(cfg, cfg_options)
    cfg.launcher = launcher
    old_root = cfg.get("data_root")
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    new_root = cfg.get("data_root")
    if isinstance(old_root, str) and old_root and isinstance(new_root, str) and new_root != old_root:
        for key in list(cfg.keys()):
            if key != "data_root":
                cfg[key] = rebase_data_root(cfg[key], old_root, new_root)
    apply_classes(cfg)
    adopt_default_scope(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(config))[0])
    return cfg


def adopt_default_scope(cfg: Config) -> None:
    """Run every config in the ``mmcascade`` scope. An MMDetection 3 config (``default_scope='mmdet'``)
    is adopted with a one-line notice: its ``type=`` names are MMDetection's, which mmcascade
    registers under the same names. Any other scope is refused before any work.

    Raises:
        ValueError: ``default_scope`` names another OpenMMLab project.
    """
    scope = cfg.get("default_scope")
    if scope in (None, "mmcascade"):
        cfg.default_scope = "mmcascade"
        return
    if scope == "mmdet":
        print_log(
            "default_scope='mmdet' (an MMDetection 3 config): running it in the 'mmcascade' scope, "
            "which registers the same type names",
            logger="current",
            level=logging.WARNING,
        )
        cfg.default_scope = "mmcascade"
        return
    raise ValueError(
        f"default_scope={scope!r}: mmcascade runs configs in its own scope ('mmcascade') or "
        "MMDetection 3 configs ('mmdet'); set default_scope = 'mmcascade' in the config"
    )


def check_run_config(cfg: Config) -> None:
    """Check a config before any work, without changing it or the process: top-level keys
    (typos), every ``type=`` against its registry, and that heads and datasets agree on the
    classes.

    Raises:
        KeyError / ValueError: naming the config key that is wrong and what it should be.
    """
    from .config_check import check_config_types, check_top_level_typos
    from .config_classes import check_config_classes

    check_top_level_typos(cfg)
    check_config_types(cfg)
    check_config_classes(cfg)


def setup_runtime(cfg: Config) -> Config:
    """Prepare this process for running ``cfg``: the distributed backend for this machine (gloo
    without CUDA; the process group is started here when a launcher is used on CPU), the
    distributed timeout, and ``env_cfg.malloc_mmap_threshold``. Modifies and returns ``cfg``."""
    from .dist_env import default_dist_timeout, setup_cpu_distributed

    env = cfg.setdefault("env_cfg", {})
    dist_cfg = env.setdefault("dist_cfg", {})
    if not torch.cuda.is_available() and dist_cfg.get("backend", "nccl") == "nccl":
        dist_cfg["backend"] = "gloo"
    dist_cfg.setdefault("timeout", default_dist_timeout())
    threshold = env.get("malloc_mmap_threshold")
    if threshold:
        from .memory import set_malloc_mmap_threshold

        set_malloc_mmap_threshold(threshold)
    setup_cpu_distributed(cfg)
    return cfg


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


def sliced_test_settings(cfg: Config, **options) -> tuple[dict, list]:
    """``(model, pipeline)`` for ``tools/test.py --slice``: a :class:`SlicedDetector` around the
    config's model whose tiles go through the test pipeline, and a dataset pipeline that loads
    and packs each image as it is (no resize, the loader's ``backend_args`` kept).

    Args:
        options: :class:`SlicedDetector`'s settings (``slice_size``, ``overlap``...).

    Raises:
        ValueError: the test pipeline does not start by loading the image from a file.
    """
    from mmcascade.apis.inference import test_pipeline_steps

    tiles = test_pipeline_steps(cfg)  # the test pipeline without LoadAnnotations
    if not tiles or not str(tiles[0].get("type", "")).endswith("LoadImageFromFile"):
        raise ValueError(f"--slice: the test pipeline must start with LoadImageFromFile, it starts with {tiles[:1]}")
    pack = dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape"))
    model = dict(type="SlicedDetector", module=cfg.model, tile_pipeline=tiles, **options)
    return model, [tiles[0], pack]
