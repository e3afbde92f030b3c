"""The user calls: build a detector from a config and weights, detect in images (whole or tile by
tile), and load checkpoints safely."""

from mmcascade.checkpoint import (
    CheckpointError,
    KeyMismatch,
    class_names_from_meta,
    compare_state_dict,
    install_state_dict,
    load_checkpoint,
    read_checkpoint,
)
from mmcascade.slicing import SliceSettings, inference_sliced

from .inference import inference_detector, init_detector

__all__ = [
    "CheckpointError",
    "KeyMismatch",
    "SliceSettings",
    "class_names_from_meta",
    "compare_state_dict",
    "inference_detector",
    "inference_sliced",
    "init_detector",
    "install_state_dict",
    "load_checkpoint",
    "read_checkpoint",
]
