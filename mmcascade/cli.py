"""``mmcascade`` command line: the repository's tools, from a checkout or an installed package.

    mmcascade train CONFIG [train.py options]          tools/train.py (mmcascade.tools.train)
    mmcascade test CONFIG CHECKPOINT [test.py options]  tools/test.py (mmcascade.tools.test)
    mmcascade zoo {list,show,download,...}              tools/model_zoo.py
    mmcascade export CONFIG CHECKPOINT OUT.onnx [...]   tools/deploy/export.py (ONNX, checked in ONNX Runtime;
                                                        --int8 OUT.xml: OpenVINO int8 with an AP gate)
    mmcascade serve CONFIG CHECKPOINT [...]             mmcascade.tools.serve (HTTP: /predict, a page at /)
    mmcascade demo IMAGES CONFIG CHECKPOINT [...]       demo/image_demo.py (--slice WxH: large images)
    mmcascade demo-video VIDEO CONFIG CHECKPOINT --out OUT.mp4 [...]
                                                        demo/video_demo.py
    mmcascade analyze TOOL [...]                        tools/analysis_tools/TOOL.py
    mmcascade convert TOOL [...]                        tools/model_converters/TOOL.py (checkpoints)
    mmcascade dataset-to-coco voc|labelme|via SRC OUT.json [...]
                                                        other annotation formats to COCO json
    mmcascade launcher dist_train|dist_test|slurm_train|slurm_test
                                                        prints the path of that shell launcher
    mmcascade print-config CONFIG [--cfg-options k=v ...] [--save-path FULL.py]
                                                        the config as the tools run it
    mmcascade configs [PATTERN]                         lists the shipped configs whose path has PATTERN
    mmcascade --version                                 versions, and which RoIAlign / NMS run

Every subcommand takes --help. Output piped into a command that stops reading early
(``mmcascade zoo list | head``) ends quietly.

``python -m mmcascade`` is the same command. Each subcommand runs the tool's module in
:mod:`mmcascade.tools` with the same arguments, as ``tools/*.py`` do, so ``mmcascade train X`` is
``python tools/train.py X``; the demo and the shell launchers come from the checkout or, installed,
from ``mmcascade/.mim/``. CONFIG may be a file, a path relative to the
shipped ``configs/`` folder, a config name without ``.py``, or a model-zoo name.
"""

from __future__ import annotations

import os
import pkgutil
import runpy
import sys
from pathlib import Path

import mmcascade.tools.analysis_tools
import mmcascade.tools.model_converters
from mmcascade import __version__
from mmcascade.zoo.manifest import resource_root

MODULES = {
    "train": "mmcascade.tools.train",
    "test": "mmcascade.tools.test",
    "zoo": "mmcascade.tools.model_zoo",
    "dataset-to-coco": "mmcascade.tools.dataset_converters.to_coco",
    "print-config": "mmcascade.tools.misc.print_config",
    "export": "mmcascade.tools.deploy.export",
    "serve": "mmcascade.tools.serve",
}
SCRIPTS = {"demo": "demo/image_demo.py", "demo-video": "demo/video_demo.py"}
LAUNCHERS = ("dist_train", "dist_test", "slurm_train", "slurm_test")


def tool_path(relative: str) -> Path:
    """A script of the repository (``tools/...``, ``demo/...``) in the checkout or the package."""
    path = resource_root() / relative
    if not path.is_file():
        raise SystemExit(f"mmcascade: {relative} is not in {resource_root()} (a broken install?)")
    return path


def analysis_tools() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(mmcascade.tools.analysis_tools.__path__))


def converter_tools() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(mmcascade.tools.model_converters.__path__))


PACKAGES = {
    "analyze": ("mmcascade.tools.analysis_tools", analysis_tools),
    "convert": ("mmcascade.tools.model_converters", converter_tools),
}


def run_script(path: Path | str, argv: list[str], module: bool = False) -> int:
    """Run a script file (or, with ``module``, a module) as ``__main__`` with ``argv``, as
    ``python path argv...`` (``python -m module argv...``) would."""
    saved = sys.argv
    sys.argv = [str(path), *argv]
    try:
        if module:
            runpy.run_module(str(path), run_name="__main__", alter_sys=True)
        else:
            runpy.run_path(str(path), run_name="__main__")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)  # what Python prints for SystemExit("reason") at exit
        return 1
    finally:
        sys.argv = saved
    return 0


def _usage() -> str:
    return (
        (__doc__ or "").split("\n\n")[1]
        + f"\n\nanalysis tools: {', '.join(analysis_tools())}"
        + f"\ncheckpoint converters: {', '.join(converter_tools())}"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command; a reader that closes the pipe early (``| head``) ends it quietly."""
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would complain again when flushing at exit: point stdout at /dev/null first.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return code


def _main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help", "help"):
        print("usage:\n" + _usage())
        return 0
    command, rest = args[0], args[1:]
    if command in ("-V", "--version", "version"):
        import torch

        from mmcascade.ops.backend import describe_ops

        print(f"mmcascade {__version__}, torch {torch.__version__}")
        print("\n".join(describe_ops()))
        return 0
    if command in MODULES:
        return run_script(MODULES[command], rest, module=True)
    if command in SCRIPTS:
        return run_script(tool_path(SCRIPTS[command]), rest)
    if command in PACKAGES:
        package, lister = PACKAGES[command]
        names = lister()
        if not rest or rest[0] not in names:
            print(f"usage: mmcascade {command} TOOL ...; TOOL is one of: {', '.join(names)}", file=sys.stderr)
            return 0 if rest[:1] in (["-h"], ["--help"]) else 2
        return run_script(f"{package}.{rest[0]}", rest[1:], module=True)
    if command == "launcher":
        if len(rest) != 1 or rest[0] not in LAUNCHERS:
            print(f"usage: mmcascade launcher {{{','.join(LAUNCHERS)}}}", file=sys.stderr)
            return 2
        print(tool_path(f"tools/{rest[0]}.sh"))
        return 0
    if command == "configs":
        if rest[:1] in (["-h"], ["--help"]):
            print(
                "usage: mmcascade configs [PATTERN]\n\nList the shipped configs (paths relative to configs/, "
                "without _base_/), only those whose path contains PATTERN when given."
            )
            return 0
        root = resource_root() / "configs"
        for path in sorted(root.rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if not rel.startswith("_base_/") and (not rest or rest[0] in rel):
                print(rel)
        return 0
    print(f"mmcascade: unknown command {command!r}\nusage:\n{_usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
