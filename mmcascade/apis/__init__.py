"""High-level APIs: safe checkpoint loading and one-line inference."""

from .checkpoint import (
    CheckpointError,
    KeyMismatch,
    class_names_from_meta,
    compare_state_dict,
    install_state_dict,
    load_checkpoint,
    read_checkpoint,
)
from .inference import inference_detector, init_detector
from .sliced import inference_sliced

__all__ = [
    "CheckpointError",
    "KeyMismatch",
    "class_names_from_meta",
    "compare_state_dict",
    "inference_detector",
    "inference_sliced",
    "init_detector",
    "install_state_dict",
    "load_checkpoint",
    "read_checkpoint",
]
