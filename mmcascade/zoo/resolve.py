"""One resolver for every place a checkpoint is named: a local path, an http(s) URL, or a
model-zoo name. ``tools/test.py``, ``init_detector``, the demos and mmengine's own loading
(``load_from``, ``init_cfg=dict(type='Pretrained', checkpoint=...)``, ``torchvision://``,
``open-mmlab://``) all end here, so they share one cache, the manifest's hash check, resumable
downloads and ``weights_only`` loading."""

from pathlib import Path

from .download import DownloadError, download, is_url
from .fetch import checkpoint_of
from .manifest import ManifestError, get_entry, load_manifest


def _manifest_or_empty() -> dict:
    try:
        return load_manifest()
    except (ManifestError, OSError):
        return {}


def hash_prefix_of_url(url: str) -> str | None:
    """The manifest's sha256 prefix of a zoo checkpoint URL (None for other URLs)."""
    for entry in _manifest_or_empty().values():
        if entry.checkpoint_url == url:
            return entry.hash_prefix
    return None


def resolve_checkpoint(checkpoint: str | Path, purpose: str = "checkpoint", **download_kwargs) -> Path:
    """A verified local file for a path, an https / loopback-http URL (downloaded into the
    cache, checked against the manifest's hash when it is a zoo file), or a model-zoo name.

    Args:
        purpose: what the file is for, named in errors (``'load_from'``, ``'pretrained
            weights (init_cfg)'``...).
        download_kwargs: ``offline``, ``allow_http``, ``mirror``, ``accept_link_note``...

    Raises:
        FileNotFoundError: neither a file, a URL nor a zoo name.
        DownloadError: the download was refused or failed, with what to do without network.
    """
    text = str(checkpoint)
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if is_url(text):
        download_kwargs.setdefault("hash_prefix", hash_prefix_of_url(text))
        try:
            return download(text, **download_kwargs)  # an explicit URL ignores $MMCASCADE_MIRROR
        except DownloadError as exc:
            raise DownloadError(_no_network_hint(text, purpose, exc)) from exc
    manifest = _manifest_or_empty()
    if text in manifest:
        entry = get_entry(text, manifest)
        try:
            return checkpoint_of(entry, **download_kwargs)
        except DownloadError as exc:
            raise DownloadError(_no_network_hint(entry.checkpoint_url, purpose, exc)) from exc
    raise FileNotFoundError(
        f"{purpose} {text!r} is not a file, an http(s) URL or a model-zoo name "
        f"(`python tools/model_zoo.py list` shows the names)"
    )


def _no_network_hint(url: str, purpose: str, exc: Exception) -> str:
    from .download import cache_path

    return (
        f"could not get the {purpose}: {exc}\n"
        f"Without network access: download the file elsewhere and put it at {cache_path(url)} "
        f"(the cache, $MMCASCADE_CACHE), or give a local path instead"
        + (
            ". For ImageNet backbone weights you can also start from random weights with "
            "--cfg-options model.backbone.init_cfg=None"
            if "init_cfg" in purpose
            else "."
        )
    )
