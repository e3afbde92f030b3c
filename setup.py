"""Install with ``pip install -e .`` (or build a wheel) after torch and mmcv (see docs/get_started.md)."""

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
# Shipped inside built packages as mmcascade/.mim/<name>, where an installed (non-editable)
# mmcascade finds its configs, model-zoo manifest, tools and demos (as MMDetection's ``.mim``
# folder, which ``mim`` reads too).
RESOURCE_DIRS = ("configs", "model_zoo", "tools", "demo")
RESOURCE_FILES = ("model-index.yml",)


class BuildPyWithResources(build_py):
    """``build_py`` that also copies ``configs/`` and ``model_zoo/`` into ``mmcascade/.mim/``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        for name in RESOURCE_DIRS:
            target = Path(self.build_lib) / "mmcascade" / ".mim" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(HERE / name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        for name in RESOURCE_FILES:
            if (HERE / name).is_file():
                shutil.copy2(HERE / name, Path(self.build_lib) / "mmcascade" / ".mim" / name)


def read_requirements(name: str) -> list[str]:
    lines = (HERE / "requirements" / name).read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith(("#", "-r"))]


def read_version() -> str:
    for line in (HERE / "mmcascade" / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=")[1].strip().strip('"')
    raise RuntimeError("no __version__ in mmcascade/__init__.py")


setup(
    name="mmcascade",
    version=read_version(),
    description="Cascade R-CNN and Cascade Mask R-CNN: configs, training, testing and model zoo",
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(
        exclude=("tests", "tests.*", "configs", "configs.*", "tools", "tools.*", "demo", "benchmarks")
    ),
    include_package_data=True,
    install_requires=read_requirements("runtime.txt"),
    # mmcv / mmengine are not install_requires (as in MMDetection): mmcv exists with and without
    # compiled ops (and as mmcv-lite), and a resolver must not replace the one installed.
    extras_require={
        "tests": read_requirements("tests.txt"),
        "mim": read_requirements("mminstall.txt"),
        "deploy": read_requirements("deploy.txt"),
        "serve": read_requirements("serve.txt"),
        "ray": read_requirements("serve.txt") + read_requirements("ray.txt"),
        "cityscapes": read_requirements("cityscapes.txt"),
    },
    package_data={"mmcascade.serving": ["static/*.html"]},
    license="Apache-2.0",
    license_files=["LICENSE"],
    entry_points={"console_scripts": ["mmcascade=mmcascade.cli:main"]},
    zip_safe=False,
    cmdclass={"build_py": BuildPyWithResources},
)
