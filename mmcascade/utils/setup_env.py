"""Import every registering module and make ``mmcascade`` the default scope."""

import datetime
import warnings

import torch
from mmengine import DefaultScope

from mmcascade.registry import import_all_locations


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import all modules that register components (every location of mmcascade's registries).

    Args:
        init_default_scope: also make ``mmcascade`` the current default scope,
            so that ``type=`` names resolve to our components first.
    """
    import_all_locations()

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created("mmcascade"):
        DefaultScope.get_instance("mmcascade", scope_name="mmcascade")
    elif current.scope_name != "mmcascade":
        warnings.warn(
            f"The current default scope is '{current.scope_name}', not 'mmcascade'; "
            "a new one is created so that our components are found first.",
            stacklevel=2,
        )
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S%f")
        DefaultScope.get_instance(f"mmcascade-{stamp}", scope_name="mmcascade")


def default_device() -> str:
    """``'cuda'`` when PyTorch sees a GPU, else ``'cpu'``: the default of the inference API,
    the demos and the analysis tools."""
    return "cuda" if torch.cuda.is_available() else "cpu"
