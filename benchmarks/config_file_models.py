"""Models for the benchmarks built from one MMDetection config file by either toolbox
(``--config-file``), with the same seeded random weights made usable."""

import os
import sys

import torch

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_from_file(side: str, config_file: str) -> torch.nn.Module:
    """The model of ``config_file`` built by ``side`` ('ours' or 'mmdet'), no pretrained download;
    mmcascade reads the file as users' MMDetection configs are read (registry scope adopted)."""
    from mmengine.config import Config
    from mmengine.logging import MMLogger

    MMLogger.get_instance("mmengine").setLevel("WARNING")
    if side == "mmdet":
        from mmdet.registry import MODELS
        from mmdet.utils import register_all_modules

        read = Config.fromfile
    else:
        sys.path.insert(0, REPO)
        from mmcascade.config.loading import read_config as read
        from mmcascade.registry import MODELS
        from mmcascade.utils import register_all_modules
    register_all_modules()
    cfg = read(config_file)
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


def calibrate_norms(model: torch.nn.Module) -> None:
    """``--calibrate-norms``: BatchNorm statistics measured on a random batch, for random-weight
    backbones whose default init gives the heads nothing to detect (HRNet: no zero-initialised
    residuals); the weights are still the same for both toolboxes (the test suite's helper)."""
    sys.path.insert(0, os.path.join(REPO, "tests"))
    from helpers.seeded import calibrate_norms as measure

    measure(model)
