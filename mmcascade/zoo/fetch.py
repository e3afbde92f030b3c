"""Fetch a model-zoo entry's files (checkpoint, log) with its link status respected."""

import os
from pathlib import Path

from .download import DownloadError, download
from .manifest import ZooEntry


def _zoo_mirror(mirror: str | None) -> str | None:
    """Zoo downloads follow ``$MMCASCADE_MIRROR`` unless a mirror is given."""
    return mirror or os.environ.get("MMCASCADE_MIRROR")


def checkpoint_of(
    entry: ZooEntry, *, accept_link_note: bool = False, mirror: str | None = None, **download_kwargs
) -> Path:
    """Download (or find in the cache) the checkpoint of ``entry``, verified.

    Raises:
        DownloadError: the entry's link is not this row's model (``baseline-checkpoint``) and
            ``accept_link_note`` is false, or the download failed (see :func:`download`).
    """
    if entry.link_status == "baseline-checkpoint" and not accept_link_note:
        raise DownloadError(
            f"{entry.name}: refused: {entry.note} Downloading it would give you weights of a "
            f"different model than the row's; pass --accept-link-note (accept_link_note=True) "
            f"to fetch the linked file anyway."
        )
    return download(entry.checkpoint_url, hash_prefix=entry.hash_prefix, mirror=_zoo_mirror(mirror), **download_kwargs)


def log_of(entry: ZooEntry, *, mirror: str | None = None, **download_kwargs) -> Path:
    """Download the published training log (``.log.json``) of an OpenMMLab entry."""
    if not entry.log_url:
        raise DownloadError(f"{entry.name}: the published row has no training log")
    return download(entry.log_url, mirror=_zoo_mirror(mirror), **download_kwargs)
