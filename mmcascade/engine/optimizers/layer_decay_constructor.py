"""Layer-wise learning-rate decay for ConvNeXt detectors (MMDetection's
``LearningRateDecayOptimizerConstructor``): parameters deeper in the backbone (and every
parameter outside it) keep more of the base learning rate, those near the input less, by
``decay_rate ** (num_layers + 1 - layer_id)``; 1-D parameters and biases get no weight decay."""

from mmengine.optim import DefaultOptimWrapperConstructor
from torch import nn

from mmcascade.registry import OPTIM_WRAPPER_CONSTRUCTORS

_TOKENS = ("backbone.cls_token", "backbone.mask_token", "backbone.pos_embed")


def convnext_layer_id(name: str, max_layer_id: int) -> int:
    """The layer of a detector parameter for ``decay_type='layer_wise'``: the stem 0, stage 0's
    blocks 1, stage 1 (and its downsampling) 2, stage 2's blocks in threes from 3 (its downsampling
    3), stage 3 ``max_layer_id``, everything outside the backbone's stages ``max_layer_id + 1``."""
    if name in _TOKENS:
        return 0
    parts = name.split(".")
    if name.startswith("backbone.downsample_layers"):
        stage = int(parts[2])
        return {0: 0, 1: 2, 2: 3}.get(stage, max_layer_id)
    if name.startswith("backbone.stages"):
        stage, block = int(parts[2]), int(parts[3])
        return {0: 1, 1: 2, 2: 3 + block // 3}.get(stage, max_layer_id)
    return max_layer_id + 1


def convnext_stage_id(name: str, max_stage_id: int) -> int:
    """The stage of a detector parameter for ``decay_type='stage_wise'``: downsampling layers 0,
    stage ``i`` ``i + 1``, everything else ``max_stage_id - 1``."""
    if name in _TOKENS or name.startswith("backbone.downsample_layers"):
        return 0
    if name.startswith("backbone.stages"):
        return int(name.split(".")[2]) + 1
    return max_stage_id - 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LearningRateDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """``paramwise_cfg=dict(decay_rate=0.7, decay_type='layer_wise' | 'stage_wise', num_layers=6)``
    (``num_layers``: the backbone's layer ids, 6 for ConvNeXt-T / 12 for -S... as in MMDetection's
    configs). One parameter group per (layer, decay / no decay), each with ``lr = base_lr *
    decay_rate ** (num_layers + 1 - layer_id)``; only for ConvNeXt backbones, as in MMDetection."""

    def add_params(self, params: list[dict], module: nn.Module, **kwargs) -> None:
        cfg = dict(self.paramwise_cfg)
        unknown = set(cfg) - {"decay_rate", "decay_type", "num_layers"}
        if unknown or "num_layers" not in cfg or "decay_rate" not in cfg:
            raise ValueError(
                "LearningRateDecayOptimizerConstructor: paramwise_cfg takes decay_rate, num_layers and decay_type "
                f"('layer_wise' or 'stage_wise'), got {sorted(self.paramwise_cfg)}"
            )
        decay_type = cfg.get("decay_type", "layer_wise")
        if decay_type not in ("layer_wise", "stage_wise"):
            raise ValueError(f"LearningRateDecayOptimizerConstructor: decay_type {decay_type!r}")
        backbone = getattr(module, "backbone", None)
        if backbone is None or "ConvNeXt" not in type(backbone).__name__:
            raise ValueError(
                "LearningRateDecayOptimizerConstructor: layer ids are defined for ConvNeXt backbones only, got "
                f"{type(backbone).__name__ if backbone is not None else 'a model without backbone'}"
            )
        num_layers = cfg["num_layers"] + 2
        groups: dict[str, dict] = {}
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue
            no_decay = param.dim() == 1 or name.endswith(".bias") or name in ("pos_embed", "cls_token")
            if decay_type == "layer_wise":
                layer_id = convnext_layer_id(name, cfg["num_layers"])
            else:
                layer_id = convnext_stage_id(name, num_layers)
            key = f"layer_{layer_id}_{'no_decay' if no_decay else 'decay'}"
            if key not in groups:
                scale = cfg["decay_rate"] ** (num_layers - layer_id - 1)
                groups[key] = dict(
                    weight_decay=0.0 if no_decay else self.base_wd,
                    params=[],
                    param_names=[],
                    lr_scale=scale,
                    group_name=key,
                    lr=scale * self.base_lr,
                )
            groups[key]["params"].append(param)
            groups[key]["param_names"].append(name)
        params.extend(groups.values())
