from .combined_sampler import CombinedSampler
from .instance_balanced_pos_sampler import InstanceBalancedPosSampler
from .iou_balanced_neg_sampler import IoUBalancedNegSampler
from .ohem_sampler import OHEMSampler
from .random_sampler import RandomSampler
from .sampling_result import SamplingResult

__all__ = [
    "CombinedSampler",
    "InstanceBalancedPosSampler",
    "IoUBalancedNegSampler",
    "OHEMSampler",
    "RandomSampler",
    "SamplingResult",
]
