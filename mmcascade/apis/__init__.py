"""High-level APIs: checkpoint loading (and, later, inference)."""
from .checkpoint import (
                         CheckpointError,
                         KeyMismatch,
                         class_names_from_meta,
                         compare_state_dict,
                         load_checkpoint,
                         read_checkpoint,
)

__all__ = ["CheckpointError", "KeyMismatch", "class_names_from_meta", "compare_state_dict",
           "load_checkpoint", "read_checkpoint"]
