from .anchor_generator import AnchorGenerator, anchor_inside_flags
from .point_generator import MlvlPointGenerator

__all__ = ["AnchorGenerator", "MlvlPointGenerator", "anchor_inside_flags"]
