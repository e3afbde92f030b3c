from .single_level_roi_extractor import SingleRoIExtractor, map_roi_levels

__all__ = ["SingleRoIExtractor", "map_roi_levels"]
