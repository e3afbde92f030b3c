"""Config handling shared by the command-line tools."""
import os.path as osp

import torch
from mmengine.config import Config


def load_tool_config(config: str, cfg_options: dict | None = None, work_dir: str | None = None,
                     launcher: str = "none") -> Config:
    """Read ``config``, apply ``--cfg-options``, and set ``launcher`` and ``work_dir``
    (default ``./work_dirs/<config name>``, as MMDetection does)."""
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get("work_dir") is None:
        cfg.work_dir = osp.join("./work_dirs", osp.splitext(osp.basename(config))[0])
    return cfg


def prepare_runtime_cfg(cfg: Config) -> Config:
    """Check every ``type=`` against its registry, choose the distributed backend for this machine
    (gloo without CUDA, started here when a launcher is used) and make sure the default scope is
    ``mmcascade``. Modifies and returns ``cfg``."""
    from .config_check import check_config_types

    check_config_types(cfg)
    cfg.setdefault("default_scope", "mmcascade")
    env = cfg.setdefault("env_cfg", {})
    dist_cfg = env.setdefault("dist_cfg", {})
    if not torch.cuda.is_available() and dist_cfg.get("backend", "nccl") == "nccl":
        dist_cfg["backend"] = "gloo"
    threshold = env.get("malloc_mmap_threshold")
    if threshold:
        from .memory import set_malloc_mmap_threshold

        set_malloc_mmap_threshold(threshold)
    from .dist_env import setup_cpu_distributed

    setup_cpu_distributed(cfg)
    return cfg
