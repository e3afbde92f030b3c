from .anchor_generator import AnchorGenerator, anchor_inside_flags

__all__ = ["AnchorGenerator", "anchor_inside_flags"]
