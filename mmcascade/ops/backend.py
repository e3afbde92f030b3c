"""Which implementation of RoIAlign / NMS runs: mmcv's compiled kernels or mmcascade's torch ones.

``impl='auto'`` (the default everywhere) picks ``mmcv.ops`` whenever mmcv was built with ops for
the tensor's device, with one exception: RoIAlign on CPU runs the torch implementation, because
mmcv's CPU kernel is single-threaded and reads NCHW features one channel at a time, while the
torch one is a multi-threaded gather over NHWC rows with the same values (tests compare the two
on forward and backward). (NMS stays mmcv's on CPU: its kernel is faster there, 29 ms against
43 ms for the RPN's 4741 boxes of an 800x1216 image.) Without compiled ops for the device (an
mmcv built without ``MMCV_WITH_OPS``, or a GPU machine whose mmcv has no CUDA kernels) the torch
implementations run everywhere; a one-line warning says so for a GPU (where mmcv's CUDA kernels
would have run), not for the CPU, where mmcascade's RoIAlign is the default anyway and its NMS
keeps the same boxes. :func:`describe_ops` (``mmcascade --version``) says what runs.

``impl='mmcv'`` insists on mmcv's kernels (an error naming the missing build when there are none
for the tensor's device); ``impl='torch'`` always uses the torch implementation.
"""

from __future__ import annotations

import functools
import importlib
import logging
from types import ModuleType

import torch
from mmengine.logging import print_log

IMPLS = ("auto", "mmcv", "torch")


class CompiledOpsMissingError(RuntimeError):
    """``impl='mmcv'`` was asked for on a device mmcv has no compiled kernels for."""


@functools.cache
def mmcv_ops() -> ModuleType | None:
    """``mmcv.ops`` when mmcv was built with its compiled extension, else ``None``."""
    try:
        importlib.import_module("mmcv._ext")
        return importlib.import_module("mmcv.ops")
    except ImportError:
        return None


@functools.cache
def mmcv_has_ops_for(device_type: str) -> bool:
    """Whether mmcv's compiled ops run on tensors of this device type ('cpu', 'cuda', ...)."""
    ops = mmcv_ops()
    if ops is None:
        return False
    if device_type == "cpu":
        return True
    if device_type == "cuda":
        try:
            return ops.get_compiling_cuda_version() not in ("", "not available")
        except Exception:  # an mmcv build without the helper: it has no CUDA kernels either
            return False
    return False


@functools.cache
def _warn_missing(device_type: str) -> None:
    print_log(
        f"mmcv has no compiled ops for '{device_type}' tensors (built without MMCV_WITH_OPS, or for "
        "another CUDA): mmcascade runs its torch RoIAlign and NMS",
        logger="current",
        level=logging.WARNING,
    )


def check_impl(owner: str, impl: str) -> None:
    """Refuse an ``impl`` that is not one of :data:`IMPLS`, naming the option's owner."""
    if impl not in IMPLS:
        raise ValueError(f"{owner}: impl={impl!r} is not one of {IMPLS}")


TORCH_ON_CPU = ("RoIAlign",)  # ops whose torch implementation is the CPU default


def resolve_impl(impl: str, device: torch.device | str, op: str) -> str:
    """``'mmcv'`` or ``'torch'``: the implementation of ``op`` (``'RoIAlign'``, ``'nms'``) that runs
    for tensors on ``device``.

    Raises:
        CompiledOpsMissingError: ``impl='mmcv'`` and mmcv has no kernels for that device.
    """
    check_impl(op, impl)
    device_type = torch.device(device).type
    if impl == "torch":
        return "torch"
    if impl == "mmcv":
        if not mmcv_has_ops_for(device_type):
            raise CompiledOpsMissingError(
                f"{op} impl='mmcv' needs mmcv built with compiled ops for '{device_type}' tensors "
                "(MMCV_WITH_OPS=1, the CUDA toolkit of your torch for GPUs); this mmcv has none. "
                "Use impl='auto' or 'torch' to run mmcascade's torch implementation."
            )
        return "mmcv"
    if not mmcv_has_ops_for(device_type):
        if device_type != "cpu":  # on the CPU mmcascade's ops are the default (RoIAlign) or equal (NMS)
            _warn_missing(device_type)
        return "torch"
    return "torch" if device_type == "cpu" and op in TORCH_ON_CPU else "mmcv"


def describe_ops() -> list[str]:
    """Lines saying which mmcv is installed (with or without compiled ops) and which RoIAlign and
    NMS run on the CPU (and on CUDA when PyTorch sees a GPU) with ``impl='auto'``."""
    try:
        import mmcv

        version = f"mmcv {mmcv.__version__}"
    except ImportError:
        version = "mmcv not installed"
    if mmcv_ops() is None:
        lines = [f"{version}: no compiled ops (mmcv-lite or a build without MMCV_WITH_OPS)"]
    else:
        devices = "CPU and CUDA" if mmcv_has_ops_for("cuda") else "CPU"
        lines = [f"{version}: compiled ops for {devices}"]
    names = {"torch": "mmcascade's (torch)", "mmcv": "mmcv's"}
    for device in ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",):
        roi = names[resolve_impl("auto", device, "RoIAlign")]
        nms = names[resolve_impl("auto", device, "nms")]
        lines.append(f"{device}: RoIAlign {roi}, NMS {nms}")
    return lines
