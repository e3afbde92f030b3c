from .generic_roi_extractor import GenericRoIExtractor
from .single_level_roi_extractor import SingleRoIExtractor, map_roi_levels

__all__ = ["GenericRoIExtractor", "SingleRoIExtractor", "map_roi_levels"]
