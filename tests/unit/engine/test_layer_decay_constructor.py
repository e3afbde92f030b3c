"""LearningRateDecayOptimizerConstructor (MMDetection's ConvNeXt configs): every parameter's group,
learning rate and weight decay as MMDetection 3.3.0 gives them for a ConvNeXt-T detector
(``decay_rate=0.7``, ``num_layers=6``, AdamW lr 2e-4, weight decay 0.05)."""

import pytest
from torch import nn

from mmcascade.engine.optimizers import convnext_layer_id
from mmcascade.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS


def _model() -> nn.Module:
    model = nn.Module()
    model.backbone = MODELS.build(
        dict(type="ConvNeXt", arch="tiny", out_indices=(0, 1, 2, 3), gap_before_final_norm=False)
    )
    model.neck = nn.Conv2d(96, 8, 1)
    return model


def _groups(decay_type: str) -> dict[str, tuple[float, float, str]]:
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type="LearningRateDecayOptimizerConstructor",
            optim_wrapper_cfg=dict(type="OptimWrapper", optimizer=dict(type="AdamW", lr=2e-4, weight_decay=0.05)),
            paramwise_cfg=dict(decay_rate=0.7, decay_type=decay_type, num_layers=6),
        )
    )
    groups = constructor(_model()).optimizer.param_groups
    return {name: (g["lr"], g["weight_decay"], g["group_name"]) for g in groups for name in g["param_names"]}


# (name, layer id) as MMDetection assigns them: stem 0, stage 0 1, stage 1 2, stage 2 from 3 in
# threes of blocks, stage 3 6, everything else 7
LAYERS = [
    ("backbone.downsample_layers.0.0.weight", 0),
    ("backbone.stages.0.2.pointwise_conv1.weight", 1),
    ("backbone.downsample_layers.1.1.weight", 2),
    ("backbone.stages.1.0.gamma", 2),
    ("backbone.downsample_layers.2.0.weight", 3),
    ("backbone.stages.2.2.depthwise_conv.weight", 3),
    ("backbone.stages.2.3.norm.bias", 4),
    ("backbone.stages.2.8.pointwise_conv2.weight", 5),
    ("backbone.downsample_layers.3.1.bias", 6),
    ("backbone.stages.3.2.pointwise_conv2.weight", 6),
    ("backbone.norm2.weight", 7),
    ("neck.weight", 7),
]


@pytest.mark.parametrize("name, layer", LAYERS)
def test_layer_wise_groups_as_mmdet(name, layer):
    lr, wd, group = _groups("layer_wise")[name]
    no_decay = dict(_model().named_parameters())[name].dim() == 1  # norms, biases, layer scales
    assert convnext_layer_id(name, 6) == layer
    assert lr == pytest.approx(2e-4 * 0.7 ** (7 - layer), rel=1e-9)
    assert (wd, group) == ((0.0, f"layer_{layer}_no_decay") if no_decay else (0.05, f"layer_{layer}_decay"))


def test_stage_wise_and_counts():
    groups = _groups("stage_wise")
    assert len(groups) == 188  # every trainable parameter in one group
    assert groups["backbone.downsample_layers.2.1.weight"][2] == "layer_0_decay"
    assert groups["backbone.stages.2.4.pointwise_conv1.weight"][2] == "layer_3_decay"
    assert groups["neck.bias"] == (pytest.approx(2e-4), 0.0, "layer_7_no_decay")  # max_stage_id - 1 = 7
    with pytest.raises(ValueError, match="ConvNeXt backbones only"):
        c = OPTIM_WRAPPER_CONSTRUCTORS.build(
            dict(type="LearningRateDecayOptimizerConstructor", optim_wrapper_cfg=dict(type="OptimWrapper",
                 optimizer=dict(type="SGD", lr=0.1)), paramwise_cfg=dict(decay_rate=0.7, num_layers=6))
        )  # fmt: skip
        model = nn.Module()
        model.backbone = nn.Conv2d(3, 3, 1)
        c(model)
