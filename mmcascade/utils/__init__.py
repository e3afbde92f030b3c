"""Package-wide helpers."""

from .setup_env import default_device, register_all_modules

__all__ = ["default_device", "register_all_modules"]
