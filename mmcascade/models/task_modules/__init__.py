from .assigners import AssignResult, MaxIoUAssigner
from .coders import DeltaXYWHBBoxCoder
from .prior_generators import AnchorGenerator
from .samplers import RandomSampler, SamplingResult

__all__ = [
    "AssignResult",
    "MaxIoUAssigner",
    "DeltaXYWHBBoxCoder",
    "AnchorGenerator",
    "RandomSampler",
    "SamplingResult",
]
