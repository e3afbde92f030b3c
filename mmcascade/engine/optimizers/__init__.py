"""Optimizer-wrapper constructors MMDetection's configs name (importing registers them)."""

from .layer_decay_constructor import LearningRateDecayOptimizerConstructor, convnext_layer_id, convnext_stage_id

__all__ = ["LearningRateDecayOptimizerConstructor", "convnext_layer_id", "convnext_stage_id"]
