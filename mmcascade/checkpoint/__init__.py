"""Checkpoints: reading without executing pickled code, fitting a state dict to a model, the
checks made before a run, and choosing what ``--resume`` continues from."""

from .checks import (
    check_checkpoint_classes,
    check_checkpoint_covers,
    check_finite_weights,
    class_change_note,
    classes_mismatch,
    config_num_classes,
)
from .reading import (
    CheckpointError,
    KeyMismatch,
    class_names_from_meta,
    compare_state_dict,
    extract_state_dict,
    install_state_dict,
    load_checkpoint,
    read_checkpoint,
)
from .resume import latest_readable_checkpoint, nothing_left_to_train, remove_stale_temporaries, resume_candidates
from .safe_unpickle import enable_safe_checkpoints

__all__ = [
    "CheckpointError",
    "KeyMismatch",
    "check_checkpoint_classes",
    "check_checkpoint_covers",
    "check_finite_weights",
    "class_change_note",
    "class_names_from_meta",
    "classes_mismatch",
    "compare_state_dict",
    "config_num_classes",
    "enable_safe_checkpoints",
    "extract_state_dict",
    "install_state_dict",
    "latest_readable_checkpoint",
    "load_checkpoint",
    "nothing_left_to_train",
    "read_checkpoint",
    "remove_stale_temporaries",
    "resume_candidates",
]
