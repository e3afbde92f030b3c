"""Verified, resumable, concurrency-safe downloads into a local cache.

A file is streamed into ``<name>.part`` beside its final place in the cache, resumed with an
HTTP ``Range`` request when a ``.part`` is already there, checked (byte count against the
server's length; sha256 against the hash prefix embedded in OpenMMLab file names such as
``..._20200316-3dc56deb.pth``), and only then renamed into place atomically. A per-file lock
serialises processes that download the same file at once.
"""

import fcntl
import hashlib
import http.client
import os
import re
import shutil
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from tqdm import tqdm

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
CHUNK = 1 << 20
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.(?:pth|pt|pkl)$")


class DownloadError(RuntimeError):
    """A download was refused, failed or did not verify; nothing was put into the cache."""


def cache_dir() -> Path:
    """``$MMCASCADE_CACHE`` or ``~/.cache/mmcascade``."""
    return Path(os.environ.get("MMCASCADE_CACHE") or Path.home() / ".cache" / "mmcascade")


def offline_default() -> bool:
    return os.environ.get("MMCASCADE_OFFLINE", "").lower() in ("1", "true", "yes")


def hash_prefix_from_name(name: str) -> str | None:
    """The sha256 prefix that OpenMMLab's publish step appends to a checkpoint name, if any."""
    m = _HASH_IN_NAME.search(name)
    return m.group(1) if m else None


def is_url(source: str) -> bool:
    return urlparse(str(source)).scheme in ("http", "https", "file")


def check_source(url: str, allow_http: bool = False) -> None:
    """Allow https, file URLs, and http only on loopback hosts or with ``allow_http``.

    Raises:
        DownloadError: for any other scheme, or http to a remote host without the opt-in.
    """
    parsed = urlparse(url)
    if parsed.scheme in ("https", "file"):
        return
    if parsed.scheme == "http":
        if parsed.hostname in LOOPBACK_HOSTS or allow_http:
            return
        raise DownloadError(
            f"{url}: refused: plain http to a remote host can be tampered with on the way; use "
            f"https (OpenMMLab's host serves it), or opt in with --allow-http / allow_http=True"
        )
    raise DownloadError(f"{url}: unsupported scheme {parsed.scheme!r} (https, file or loopback http)")


def apply_mirror(url: str, mirror: str | None) -> str:
    """Replace the scheme and host of ``url`` with ``mirror``, keeping the path:
    ``https://host/a/b.pth`` + ``http://127.0.0.1:8000/m`` gives ``http://127.0.0.1:8000/m/a/b.pth``;
    no mirror leaves ``url`` as it is."""
    if not mirror:
        return url
    base, parsed = urlparse(mirror.rstrip("/")), urlparse(url)
    return urlunparse(base._replace(path=base.path + parsed.path))


def cache_path(url: str, root: Path | None = None) -> Path:
    """Where ``url`` lands in the cache: ``checkpoints/<file name>`` when the name carries its
    own hash, otherwise ``by-url/<sha256(url)[:12]>/<file name>`` (Detectron's files are all
    called ``model_final.pkl``)."""
    root = root or cache_dir()
    name = Path(urlparse(url).path).name or "download"
    if hash_prefix_from_name(name):
        return root / "checkpoints" / name
    return root / "by-url" / hashlib.sha256(url.encode()).hexdigest()[:12] / name


def sha256_of(path: str | os.PathLike) -> str:
    """The sha256 of a file's bytes (hex), read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_hash(path: Path, prefix: str | None, label: str) -> None:
    if prefix is None:
        return
    actual = sha256_of(path)
    if not actual.startswith(prefix):
        raise DownloadError(
            f"{label}: sha256 {actual[:16]}... does not start with {prefix!r} (corrupted or a different file)"
        )


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(str(path) + ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _total_from_headers(resp, offset: int) -> int | None:
    content_range = resp.headers.get("Content-Range")
    if content_range and "/" in content_range and not content_range.endswith("/*"):
        return int(content_range.rsplit("/", 1)[1])
    length = resp.headers.get("Content-Length")
    return offset + int(length) if length is not None else None


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to a URL that passes the same policy as the original one."""

    def __init__(self, allow_http: bool) -> None:
        super().__init__()
        self.allow_http = allow_http

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        try:
            check_source(newurl, self.allow_http)
        except DownloadError as exc:
            raise DownloadError(f"{req.full_url} redirects to a refused address: {exc}") from None
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _fetch_into(url: str, part: Path, progress: bool, timeout: float, allow_http: bool = False) -> int | None:
    """Append the rest of ``url`` to ``part`` (resuming where it ends); returns the total size
    the server announced, or None. Network errors propagate with ``part`` kept for resuming;
    a redirect is followed only to an address the policy allows."""
    offset = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "mmcascade"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    opener = urllib.request.build_opener(_CheckedRedirects(allow_http))
    try:
        resp = opener.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: the part is already whole
            return offset
        raise
    with resp:
        if offset and resp.status != 206:  # the server ignored Range: start over
            offset = 0
        total = _total_from_headers(resp, offset)
        with (
            open(part, "ab" if offset else "wb") as out,
            tqdm(
                total=total, initial=offset, unit="B", unit_scale=True, disable=not progress, desc=part.name[:-5][-40:]
            ) as bar,
        ):
            for block in iter(lambda: resp.read(CHUNK), b""):
                out.write(block)
                bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
    return total


class _ShortTransferError(Exception):
    """The server closed the connection before sending the announced length."""


def _fetch_with_retries(
    url: str, part: Path, progress: bool, timeout: float, retries: int, allow_http: bool = False
) -> int | None:
    """Fetch, resuming after dropped connections and short transfers up to ``retries`` times."""
    for attempt in range(retries + 1):
        try:
            total = _fetch_into(url, part, progress, timeout, allow_http)
            if total is not None and part.stat().st_size < total:
                raise _ShortTransferError(f"connection closed at {part.stat().st_size} of {total} bytes")
            return total
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
            error: Exception = exc
        except (OSError, http.client.HTTPException, _ShortTransferError) as exc:
            error = exc
        if attempt == retries:
            have = part.stat().st_size if part.exists() else 0
            raise DownloadError(
                f"{url}: interrupted after {retries + 1} attempt(s) ({error}); "
                f"{have} bytes kept in {part}, run again to resume"
            ) from error
        time.sleep(min(0.2 * 2.0**attempt, 5.0))
    raise AssertionError("unreachable")


def download(
    url: str,
    dest: Path | None = None,
    hash_prefix: str | None = None,
    *,
    mirror: str | None = None,
    offline: bool | None = None,
    allow_http: bool = False,
    progress: bool = True,
    retries: int = 3,
    timeout: float = 60.0,
) -> Path:
    """Return a verified local copy of ``url`` (downloading it if the cache lacks it).

    Args:
        url: https / loopback-http / file URL, or a local path (verified and returned as is).
        dest: final file path; default :func:`cache_path`.
        hash_prefix: expected sha256 prefix; default the one in the file name, if any.
        mirror: base URL replacing the scheme and host of ``url`` (see :func:`apply_mirror`).
        offline: only use the cache (default ``$MMCASCADE_OFFLINE``).
        retries: how many times an interrupted transfer is resumed before giving up.

    Raises:
        DownloadError: refused source, offline and not cached, network failure after the
            retries (the partial file is kept and the next call resumes it), size or hash mismatch
            (the partial file is deleted).
    """
    if not is_url(url) or urlparse(url).scheme == "file":
        local = Path(urlparse(url).path if is_url(url) else url)
        if not local.is_file():
            raise DownloadError(f"{local}: no such file")
        verify_hash(local, hash_prefix or hash_prefix_from_name(local.name), str(local))
        return local
    url = apply_mirror(url, mirror)
    check_source(url, allow_http)
    final = Path(dest) if dest else cache_path(url)
    prefix = hash_prefix or hash_prefix_from_name(final.name)
    if final.is_file() and _cached_copy_ok(final, prefix):
        return final
    if offline_default() if offline is None else offline:
        raise DownloadError(f"offline mode: {url} is not in the cache (expected at {final})")
    with _file_lock(final):
        if final.is_file() and _cached_copy_ok(final, prefix):  # another process finished it meanwhile
            return final
        part = Path(str(final) + ".part")
        total = _fetch_with_retries(url, part, progress, timeout, retries, allow_http)
        size = part.stat().st_size
        try:
            if total is not None and size != total:
                raise DownloadError(f"{url}: got {size} bytes, the server announced {total}")
            verify_hash(part, prefix, url)
        except DownloadError:
            part.unlink(missing_ok=True)
            raise
        _record_size(final, size)
        os.replace(part, final)
    return final


def _size_record(final: Path) -> Path:
    return Path(str(final) + ".size")


def _record_size(final: Path, size: int) -> None:
    """Remember the verified size of a finished download beside it (checked on every reuse)."""
    tmp = Path(str(_size_record(final)) + ".tmp")
    tmp.write_text(f"{size}\n")
    os.replace(tmp, _size_record(final))


def _cached_copy_ok(final: Path, prefix: str | None) -> bool:
    """Whether a cached file may be returned: its size equals the size recorded when it was
    downloaded, and its sha256 starts with ``prefix`` when one is known. A copy that fails is
    set aside (``<name>.part`` when it is a truncated prefix, to resume from; deleted when its
    bytes are wrong), with a warning, so the caller downloads it again."""
    record = _size_record(final)
    size = final.stat().st_size
    expected = int(record.read_text().strip()) if record.is_file() else None
    reason = None
    if expected is not None and size != expected:
        reason = f"{size} bytes instead of the {expected} it was downloaded with"
    elif prefix is not None and not sha256_of(final).startswith(prefix):
        reason = f"its sha256 does not start with {prefix!r}"
    if reason is None:
        return True
    warnings.warn(f"{final}: the cached copy is damaged ({reason}); downloading it again", stacklevel=3)
    if expected is not None and size < expected:
        os.replace(final, Path(str(final) + ".part"))
    else:
        final.unlink()
    return False


def copy_to(path: Path, dest_dir: Path) -> Path:
    """Place a cached file in ``dest_dir`` (hard link when possible, else copy)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / path.name
    if target.exists() and target.stat().st_size == path.stat().st_size:
        return target
    tmp = dest_dir / (path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    try:
        os.link(path, tmp)
    except OSError:
        shutil.copyfile(path, tmp)
    os.replace(tmp, target)
    return target
