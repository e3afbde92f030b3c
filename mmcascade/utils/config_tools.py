"""Runtime adjustments applied by the tools before building the Runner."""
import torch
from mmengine.config import Config


def prepare_runtime_cfg(cfg: Config) -> Config:
    """Choose the distributed backend for this machine (gloo without CUDA) and make sure the
    default scope is ``mmcascade``. Modifies and returns ``cfg``."""
    cfg.setdefault("default_scope", "mmcascade")
    env = cfg.setdefault("env_cfg", {})
    dist_cfg = env.setdefault("dist_cfg", {})
    if not torch.cuda.is_available() and dist_cfg.get("backend", "nccl") == "nccl":
        dist_cfg["backend"] = "gloo"
    return cfg
