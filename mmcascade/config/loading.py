"""Reading a config the way the tools and the inference API read it: a file, a shipped config's
name or a model-zoo name; ``--cfg-options``, ``data_root``, classes and scope applied; checked."""

import copy
import importlib
import importlib.util
import logging
import os
import os.path as osp

from mmengine.config import Config
from mmengine.logging import print_log

from mmcascade.utils.dist_env import check_launcher_env
from mmcascade.zoo.manifest import find_config

from .checks import check_cfg_options, check_config_types, check_top_level_typos
from .classes import apply_classes, check_config_classes
from .files import check_config_file
from .sync_bn import single_process_norms, sync_norms_note

PATH_KEYS = ("load_from", "resume", "work_dir", "data_root", "ann_file", "checkpoint", "filename", "out_dir")
"""Config keys (last part of a dotted key) whose value is a path, also where the config leaves them ``None``."""


class CfgOptions(dict):
    """``--cfg-options`` parsed by mmengine (``a,b`` becomes a list), with ``raw``: each value's
    text as typed."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.raw: dict[str, str] = {}


def join_comma_split_paths(cfg: Config, options: dict) -> dict:
    """``options`` with a value that mmengine split at its commas (``load_from=/data/a,b.pth`` ->
    ``['/data/a', 'b.pth']``) put back as the one string typed, where the config expects a path
    or a string there; each one is logged."""
    raw = getattr(options, "raw", {})
    out = dict(options)
    for key, value in options.items():
        text = raw.get(key, "")
        if not isinstance(value, (list, tuple)) or "," not in text or text.strip()[:1] in "[(":
            continue
        node: object = cfg._cfg_dict
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str) or (node is None and key.split(".")[-1] in PATH_KEYS):
            out[key] = text
            print_log(
                f"--cfg-options {key}={text}: kept as one string (the config's {key} is a path or text; "
                "a comma would otherwise make it a list)",
                logger="current",
                level=logging.INFO,
            )
    return out


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
    config = str(find_config(config))
    check_config_file(config)
    check_launcher_env(launcher)
    cfg = read_config(config)
    if cfg_options:
        cfg_options = join_comma_split_paths(cfg, cfg_options)
    check_cfg_options(cfg, cfg_options)
    cfg.launcher = launcher
    old_root = cfg.get("data_root")
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if launcher == "none" and (changed := single_process_norms(cfg.get("model"))):
        print_log(sync_norms_note(changed), logger="current", level=logging.WARNING)
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
    check_top_level_typos(cfg)
    check_config_types(cfg)
    check_config_classes(cfg)


def resolve_config(config: "str | os.PathLike | Config") -> Config:
    """A ``Config`` from a Config (a copy), a config file path, or a shipped or model-zoo name."""
    if isinstance(config, Config):
        return copy.deepcopy(config)
    return read_config(str(find_config(config)))


# Packages whose parts mmcascade registers under their scope when they are not installed.
PROVIDED_SCOPES = {"mmpretrain": "mmcascade's own ConvNeXt answers to 'mmpretrain.ConvNeXt'"}


def read_config(path: str) -> Config:
    """``Config.fromfile``, with the config's ``custom_imports`` imported here: an import from a
    package in :data:`PROVIDED_SCOPES` that is not installed is skipped with a notice (what the
    config uses from it is registered by mmcascade); any other failed import names the config and
    the module (unless ``allow_failed_imports``)."""
    cfg = Config.fromfile(path, import_custom_modules=False)
    custom = cfg.get("custom_imports")
    if not custom:
        return cfg
    names = custom.get("imports", [])
    for name in [names] if isinstance(names, str) else names:
        root = name.split(".")[0]
        if root in PROVIDED_SCOPES and importlib.util.find_spec(root) is None:
            print_log(
                f"{path}: custom_imports {name!r} skipped, {root} is not installed: {PROVIDED_SCOPES[root]}",
                logger="current",
                level=logging.INFO,
            )
            continue
        try:
            importlib.import_module(name)
        except ImportError as exc:
            if not custom.get("allow_failed_imports", False):
                raise ImportError(f"{path}: custom_imports could not import {name!r}: {exc}") from exc
            print_log(
                f"{path}: custom_imports {name!r} failed and is skipped: {exc}", logger="current", level=logging.WARNING
            )
    return cfg
