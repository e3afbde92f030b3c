"""Verified, resumable, concurrency-safe downloads against a local HTTP server."""

import hashlib
import os
import subprocess
import sys
import textwrap

import pytest

from mmcascade.zoo import DownloadError, cache_path, check_source, download, hash_prefix_from_name

from helpers import REPO


def _payload(size: int = 300_000, seed: int = 0) -> tuple[bytes, str]:
    body = hashlib.sha256(str(seed).encode()).digest() * (size // 32)
    return body, hashlib.sha256(body).hexdigest()


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MMCASCADE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("MMCASCADE_OFFLINE", raising=False)


def test_hash_prefix_and_cache_layout():
    assert hash_prefix_from_name("cascade_rcnn_r50_fpn_1x_coco_20200316-3dc56deb.pth") == "3dc56deb"
    assert hash_prefix_from_name("model_final.pkl") is None
    a = cache_path("https://x/35857345/model_final.pkl")
    b = cache_path("https://x/35857389/model_final.pkl")
    assert a != b and a.name == b.name == "model_final.pkl"
    assert cache_path("https://x/y/m-1a2b3c4d.pth").parent.name == "checkpoints"


def test_source_policy():
    check_source("https://download.openmmlab.com/a.pth")
    check_source("http://127.0.0.1:8000/a.pth")
    check_source("http://localhost/a.pth")
    with pytest.raises(DownloadError, match="plain http"):
        check_source("http://download.openmmlab.com/a.pth")
    check_source("http://download.openmmlab.com/a.pth", allow_http=True)
    with pytest.raises(DownloadError, match="scheme"):
        check_source("ftp://example.com/a.pth")


def test_download_lands_verified_in_cache(file_server):
    body, digest = _payload()
    url = file_server.add(f"/zoo/model-{digest[:8]}.pth", body)
    path = download(url, progress=False)
    assert path == cache_path(url) and path.read_bytes() == body
    assert not path.with_name(path.name + ".part").exists()
    # a second call is served from the cache without a request
    assert download(url, progress=False) == path
    assert len(file_server.files[f"/zoo/model-{digest[:8]}.pth"].requests) == 1


def test_dropped_connection_resumes_with_range(file_server):
    body, digest = _payload(seed=1)
    url = file_server.add(f"/m-{digest[:8]}.pth", body, drop_after=100_000, drops_left=2)
    path = download(url, progress=False)
    assert path.read_bytes() == body
    ranges = file_server.files[f"/m-{digest[:8]}.pth"].requests
    assert ranges == [None, "bytes=100000-", "bytes=200000-"]


def test_interrupted_download_is_kept_and_resumed_by_next_call(file_server):
    body, digest = _payload(seed=2)
    name = f"/m-{digest[:8]}.pth"
    url = file_server.add(name, body, drop_after=120_000, drops_left=1)
    with pytest.raises(DownloadError, match="run again to resume"):
        download(url, progress=False, retries=0)
    final = cache_path(url)
    assert not final.exists()  # a truncated file never lands in the cache
    assert final.with_name(final.name + ".part").stat().st_size == 120_000
    assert download(url, progress=False).read_bytes() == body
    assert file_server.files[name].requests[-1] == "bytes=120000-"


def test_corrupted_download_is_rejected_and_removed(file_server):
    body, digest = _payload(seed=3)
    url = file_server.add(f"/m-{digest[:8]}.pth", body, corrupt=True)
    with pytest.raises(DownloadError, match="does not start with"):
        download(url, progress=False)
    final = cache_path(url)
    assert not final.exists() and not final.with_name(final.name + ".part").exists()


def test_explicit_hash_for_unhashed_name(file_server):
    body, digest = _payload(seed=4)
    url = file_server.add("/d/model_final.pkl", body)
    with pytest.raises(DownloadError):
        download(url, progress=False, hash_prefix="00000000")
    assert download(url, progress=False, hash_prefix=digest[:12]).read_bytes() == body


def test_offline_mode_uses_only_the_cache(file_server, monkeypatch):
    body, digest = _payload(seed=5)
    url = file_server.add(f"/m-{digest[:8]}.pth", body)
    monkeypatch.setenv("MMCASCADE_OFFLINE", "1")
    with pytest.raises(DownloadError, match="offline"):
        download(url, progress=False)
    assert file_server.files[f"/m-{digest[:8]}.pth"].requests == []
    path = download(url, progress=False, offline=False)
    assert download(url, progress=False) == path  # offline, now cached


def test_http_404_is_a_clear_error(file_server):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(file_server.base + "/missing-12345678.pth", progress=False)


@pytest.mark.e2e  # runs the tool in a subprocess
def test_two_processes_downloading_the_same_file(file_server, tmp_path):
    body, digest = _payload(size=1_500_000, seed=6)
    name = f"/m-{digest[:8]}.pth"
    url = file_server.add(name, body, chunk_delay=0.15)  # about 3.5 s: the two overlap
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {REPO!r})
        from mmcascade.zoo import download
        print(download({url!r}, progress=False))
    """)
    env = dict(os.environ)
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env) for _ in range(2)
    ]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outs[0] == outs[1] == str(cache_path(url))
    assert cache_path(url).read_bytes() == body
    # the second process waited on the lock and found the finished file: one full transfer
    assert file_server.files[name].requests == [None]


def test_local_paths_are_verified(tmp_path):
    body, digest = _payload(seed=7)
    good = tmp_path / f"m-{digest[:8]}.pth"
    good.write_bytes(body)
    assert download(str(good)) == good
    bad = tmp_path / "m-00000000.pth"
    bad.write_bytes(body)
    with pytest.raises(DownloadError):
        download(str(bad))


def test_the_cache_checks_what_it_holds(file_server):
    body, digest = _payload(seed=7)
    url = file_server.add(f"/ckpt/model-{digest[:8]}.pth", body)
    path = download(url, progress=False)
    with open(path, "r+b") as f:
        f.truncate(len(body) // 2)  # a copy damaged after the download
    with pytest.warns(UserWarning, match="cached copy is damaged"), pytest.raises(DownloadError, match="offline"):
        download(url, progress=False, offline=True)  # not returned as if it were whole
    assert download(url, progress=False) == path and path.read_bytes() == body  # fetched again
    unhashed = file_server.add("/plain/weights.pth", body)
    plain = download(unhashed, progress=False)
    with open(plain, "r+b") as f:
        f.truncate(1000)
    with pytest.warns(UserWarning, match="1000 bytes instead of the 300000"):
        assert download(unhashed, progress=False).read_bytes() == body  # the size record catches it


def test_redirects_follow_the_same_policy(file_server):
    body, digest = _payload(seed=8)
    target = file_server.add("/real/file.pth", body)
    hop = file_server.add("/moved/file.pth", b"", redirect=target)
    assert download(hop, progress=False).read_bytes() == body  # loopback to loopback: allowed
    bad = file_server.add("/evil/file.pth", b"", redirect="http://example.com/file.pth")
    with pytest.raises(DownloadError, match="redirects to a refused address.*plain http to a remote host"):
        download(bad, progress=False, retries=0)
