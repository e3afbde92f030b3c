"""mmcascade: Cascade R-CNN and Cascade Mask R-CNN on mmengine."""

__version__ = "0.1.0"
__all__ = ["__version__"]


def _register_config_package() -> None:
    """Let mmengine's config loader resolve ``_base_ = 'mmcascade::<path under configs/>'``.

    mmengine maps the prefix to a package (``MODULE2PACKAGE``) and finds the package's folder
    through ``pkg_resources``, which recent setuptools no longer ship; for ``mmcascade`` the
    folder is this package's own, whose ``.mim/`` holds (or, in a checkout, links to) the configs.
    """
    try:
        import mmengine.config.config as config_module
        from mmengine.config.utils import MODULE2PACKAGE
    except ImportError:  # mmengine not installed yet (reading the version during set-up)
        return
    MODULE2PACKAGE.setdefault("mmcascade", "mmcascade")
    if getattr(config_module.get_installed_path, "_mmcascade", False):
        return
    import os.path as osp

    here = osp.dirname(osp.abspath(__file__))
    is_installed, get_installed_path = config_module.is_installed, config_module.get_installed_path

    def installed(package: str) -> bool:
        return package == "mmcascade" or is_installed(package)

    def installed_path(package: str) -> str:
        return here if package == "mmcascade" else get_installed_path(package)

    installed_path._mmcascade = True  # type: ignore[attr-defined]
    config_module.is_installed, config_module.get_installed_path = installed, installed_path


MMCV_MIN, MMCV_MAX = "2.0.0", "2.3.0"


def _check_mmcv() -> None:
    """mmcv in ``[MMCV_MIN, MMCV_MAX)`` (with or without compiled ops), refused early otherwise."""
    try:
        import mmcv
    except ImportError:
        return  # the import that needs it names it
    from mmengine.utils import digit_version

    if not digit_version(MMCV_MIN) <= digit_version(mmcv.__version__) < digit_version(MMCV_MAX):
        raise ImportError(
            f"mmcascade {__version__} needs mmcv>={MMCV_MIN},<{MMCV_MAX}; found mmcv {mmcv.__version__} "
            "(see docs/get_started.md)"
        )


_register_config_package()
_check_mmcv()
