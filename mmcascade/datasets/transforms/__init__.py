from .augment import FilterAnnotations, PhotoMetricDistortion, RandomApply, RandomChoice, RandomChoiceResize, RandomCrop
from .formatting import PackDetInputs
from .loading import LoadAnnotations, LoadImageFromFile, LoadImageFromNDArray
from .proposals import LoadProposals, ProposalBroadcaster
from .transforms import Pad, RandomFlip, RandomResize, Resize, flip_results

__all__ = [
    "FilterAnnotations",
    "PhotoMetricDistortion",
    "RandomApply",
    "RandomChoice",
    "RandomChoiceResize",
    "RandomCrop",
    "PackDetInputs",
    "LoadAnnotations",
    "LoadImageFromFile",
    "LoadImageFromNDArray",
    "LoadProposals",
    "ProposalBroadcaster",
    "Pad",
    "RandomFlip",
    "RandomResize",
    "Resize",
    "flip_results",
]
