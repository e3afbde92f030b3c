"""The model zoo: the manifest of published checkpoints and verified downloads."""

from .download import DownloadError, cache_dir, cache_path, check_source, download, hash_prefix_from_name
from .manifest import (
    LINK_STATUSES,
    ManifestError,
    ZooEntry,
    filter_entries,
    find_config,
    get_entry,
    load_manifest,
)

__all__ = [
    "LINK_STATUSES",
    "DownloadError",
    "ManifestError",
    "ZooEntry",
    "cache_dir",
    "cache_path",
    "check_source",
    "download",
    "filter_entries",
    "find_config",
    "get_entry",
    "hash_prefix_from_name",
    "load_manifest",
]
