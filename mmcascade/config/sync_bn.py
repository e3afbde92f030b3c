"""Synchronised BatchNorm in one process.

MMDetection's large-scale-jitter configs normalise with ``MMSyncBN`` (mmcv's BatchNorm that
averages the statistics of all processes). mmcv builds it only inside a distributed process group,
so in one process (``--launcher none``, the inference API) MMDetection stops before any work. In
one process the statistics of all processes are this process's: ``MMSyncBN`` computes exactly what
``BN`` computes, with the same parameters and buffers (checkpoint keys). :func:`single_process_norms`
builds it as ``BN`` there.
"""

from collections.abc import MutableMapping, MutableSequence

SYNC_NORMS = ("MMSyncBN",)


def single_process_norms(node: object, path: str = "model") -> list[str]:
    """Turn every ``dict(type='MMSyncBN', ...)`` under ``node`` (a model config) into
    ``type='BN'`` in place, other keys kept; returns the dotted paths changed."""
    changed: list[str] = []
    if isinstance(node, MutableMapping):
        if node.get("type") in SYNC_NORMS:
            node["type"] = "BN"
            changed.append(path)
        for key, value in node.items():
            changed += single_process_norms(value, f"{path}.{key}")
    elif isinstance(node, MutableSequence):
        for i, value in enumerate(node):
            changed += single_process_norms(value, f"{path}.{i}")
    return changed


def sync_norms_note(paths: list[str]) -> str:
    """The notice for :func:`single_process_norms`' changes."""
    return (
        f"{', '.join(paths)}: MMSyncBN (BatchNorm synchronised across processes) built as BN, this being one "
        "process: the same statistics, parameters and checkpoint keys (launch with --launcher pytorch or slurm "
        "to synchronise several)"
    )
