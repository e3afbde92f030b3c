"""Whether the model is being traced for export, and how equal scores are ranked.

These are the only places that ask: the model's modules call the helpers of
:mod:`mmcascade.ops.traceable`, :func:`~mmcascade.ops.nms.batched_nms` and
:func:`~mmcascade.ops.roi_align_layer.roi_align`, which take their graph form while
``torch.onnx.export`` runs and their eager form otherwise.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

import torch
from torch import Tensor

_INDEX_TIE_ORDER = contextvars.ContextVar("index_tie_order", default=False)


@contextlib.contextmanager
def index_tie_order() -> Iterator[None]:
    """Within the block, scores that are exactly equal are ranked by index (lower first) in the
    RPN's top-k and in NMS, as ONNX ``TopK`` and ``NonMaxSuppression`` rank them; NMS runs
    mmcascade's torch implementation. Outside it, ties keep the order of ``torch.sort`` (which
    mmcv's NMS and MMDetection use, and no ONNX runtime reproduces). The exporter compares its
    file with PyTorch inside this block."""
    token = _INDEX_TIE_ORDER.set(True)
    try:
        yield
    finally:
        _INDEX_TIE_ORDER.reset(token)


def ties_by_index() -> bool:
    """Whether :func:`index_tie_order` is in effect."""
    return _INDEX_TIE_ORDER.get()


def is_exporting() -> bool:
    """True while ``torch.onnx.export`` traces the model (the graph forms of the ops run)."""
    return bool(torch.onnx.is_in_onnx_export())


def sort_descending(values: Tensor) -> tuple[Tensor, Tensor]:
    """``(sorted values, order)`` of 1-D ``values``, largest first; equal values in
    ``torch.sort``'s order, or by index inside :func:`index_tie_order`."""
    return values.sort(dim=0, descending=True, stable=ties_by_index())
