"""Row selections the heads make, in one form for eager runs and one for a traced graph.

The heads call these without asking whether the model is exported: eagerly they take the
shortcuts that sizes known in Python allow (slices, no copy when nothing is cut); while
``torch.onnx.export`` traces the model they record shape-independent operations (``TopK`` with a
graph-computed ``k``, ``NonZero``, a gather back into RoI order). Both give the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .onnx_symbolic import topk_at_most
from .tracing import is_exporting, sort_descending


def top_k_rows(scores: Tensor, k: int, *rows: Tensor) -> tuple[Tensor, ...]:
    """The ``k`` highest ``scores (N,)`` (largest first) and the same rows of each ``(N, ...)``
    tensor of ``rows``; everything unchanged (and unsorted) when ``k <= 0`` or ``N <= k``.

    Returns:
        ``(scores, *rows)``, each with ``min(k, N)`` rows (``N`` when ``k <= 0``).
    """
    if k <= 0:
        return (scores, *rows)
    if is_exporting():
        scores, top = topk_at_most(scores, k)
    elif k < scores.shape[0]:
        scores, order = sort_descending(scores)
        scores, top = scores[:k], order[:k]
    else:
        return (scores, *rows)
    return (scores, *(r[top] for r in rows))


def image_rows(batch_ids: Tensor, counts: Sequence[int]) -> list[slice | Tensor]:
    """Each image's rows of a ``(K, ...)`` tensor whose rows are grouped by image (``counts[i]``
    rows of image ``i``, ``batch_ids (K,)`` their image index): slices, or, in a traced graph
    (where the counts are not known), the indices whose batch index is the image's."""
    if is_exporting():
        return [torch.nonzero(batch_ids == i, as_tuple=False).squeeze(1) for i in range(len(counts))]
    ends = np.cumsum(counts, dtype=np.int64).tolist()
    return [slice(end - n, end) for end, n in zip(ends, counts)]


PoolFn = Callable[[int, Tensor], Tensor]
"""``pool(level, rois_of_that_level (k, 5))`` -> ``(k, C, h, w)`` features of that level."""


def pool_by_level(pool: PoolFn, rois: Tensor, levels: Tensor, num_levels: int, out: Tensor) -> tuple[Tensor, list[int]]:
    """Pool every RoI of ``rois (K, 5)`` from its level (``levels (K,)`` in ``[0, num_levels)``).

    Args:
        pool: pools a level's RoIs.
        out: ``(K, C, h, w)`` uninitialised, in the memory layout to write (every row is written,
            since every RoI has exactly one level).

    Returns:
        ``(features (K, C, h, w), levels that pooled nothing)``. In a traced graph every level
        pools its RoIs (none, some or all, decided when the graph runs) and the rows are put
        back in RoI order; no level is reported unused there.
    """
    if is_exporting():
        rows, pooled = [], []
        for i in range(num_levels):
            inds = torch.nonzero(levels == i, as_tuple=False).squeeze(1)
            rows.append(inds)
            pooled.append(pool(i, rois[inds]))
        return torch.cat(pooled)[torch.argsort(torch.cat(rows))], []
    unused = []
    for i in range(num_levels):
        inds = torch.nonzero(levels == i, as_tuple=False).squeeze(1)
        if inds.numel() == 0:
            unused.append(i)
        elif inds.numel() == rois.shape[0]:
            out = pool(i, rois).to(out.dtype)
        else:
            out[inds] = pool(i, rois[inds]).to(out.dtype)
    return out, unused
