"""Fetch a model-zoo entry's files (checkpoint, log) with its link status respected."""
import os
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from .download import DownloadError, download
from .manifest import ZooEntry


def apply_mirror(url: str, mirror: str | None = None) -> str:
    """Replace the scheme and host of ``url`` with ``mirror`` (default ``$MMCASCADE_MIRROR``),
    keeping the path: ``https://host/a/b.pth`` + ``http://127.0.0.1:8000/m`` gives
    ``http://127.0.0.1:8000/m/a/b.pth``."""
    mirror = mirror or os.environ.get("MMCASCADE_MIRROR")
    if not mirror:
        return url
    base, parsed = urlparse(mirror.rstrip("/")), urlparse(url)
    return urlunparse(base._replace(path=base.path + parsed.path))


def checkpoint_of(entry: ZooEntry, *, accept_link_note: bool = False, mirror: str | None = None,
                  **download_kwargs) -> Path:
    """Download (or find in the cache) the checkpoint of ``entry``, verified.

    Raises:
        DownloadError: the entry's link is not this row's model (``baseline-checkpoint``) and
            ``accept_link_note`` is false, or the download failed (see :func:`download`).
    """
    if entry.link_status == "baseline-checkpoint" and not accept_link_note:
        raise DownloadError(
            f"{entry.name}: refused: {entry.note} Downloading it would give you weights of a "
            f"different model than the row's; pass --accept-link-note (accept_link_note=True) "
            f"to fetch the linked file anyway.")
    return download(apply_mirror(entry.checkpoint_url, mirror), hash_prefix=entry.hash_prefix,
                    **download_kwargs)


def log_of(entry: ZooEntry, *, mirror: str | None = None, **download_kwargs) -> Path:
    """Download the published training log (``.log.json``) of an OpenMMLab entry."""
    if not entry.log_url:
        raise DownloadError(f"{entry.name}: the published row has no training log")
    return download(apply_mirror(entry.log_url, mirror), **download_kwargs)
