"""Converters from other toolboxes' checkpoint layouts into ours."""
