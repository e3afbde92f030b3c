"""From loaded images to the model's batch: normalisation, padding, batch augmentations."""

from .batch_augments import BatchFixedSizePad
from .data_preprocessor import DetDataPreprocessor

__all__ = ["BatchFixedSizePad", "DetDataPreprocessor"]
