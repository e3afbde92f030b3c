"""Type aliases for config-driven constructors."""

from typing import Any

ConfigType = dict[str, Any]
"""A component's config: ``dict(type='Name', **options)`` (an mmengine ``ConfigDict`` is one)."""
OptConfigType = ConfigType | None
MultiConfig = ConfigType | list[ConfigType]
"""One config shared by every stage, or one per stage."""
OptMultiConfig = MultiConfig | None
