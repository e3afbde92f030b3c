"""Shared fixtures: registry scope, seeding, a local file server, a tiny trained model, MMDetection's
config files; the e2e marker."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from mmcascade.utils import register_all_modules

register_all_modules()


@pytest.fixture
def seeded():
    torch.manual_seed(0)
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)


def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e/ is an end-to-end test (deselect with ``-m "not e2e"``)."""
    e2e_dir = Path(__file__).parent / "e2e"
    for item in items:
        if e2e_dir in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


def pytest_configure(config):
    from mmengine.logging import MMLogger

    MMLogger.get_instance("mmengine", log_level="WARNING").setLevel("WARNING")


@pytest.fixture
def file_server():
    """A local HTTP file server on 127.0.0.1 (tests/http_fixtures.py), shut down afterwards."""
    from helpers.http_fixtures import FileServer

    server = FileServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory):
    """The tiny embedded config trained for 2 epochs once per session by ``tools/train.py``:
    ``dict(cfg=config path, work=work dir, ckpt=last checkpoint, log=train output)``. Tests that
    only need a trained model share it instead of training again."""
    from helpers.e2e import run_tool, tiny_embedded_cfg

    tmp = tmp_path_factory.mktemp("trained_tiny")
    cfg = tiny_embedded_cfg(tmp, epochs=2)
    work = tmp / "work"
    proc = run_tool("tools/train.py", cfg, "--work-dir", str(work))
    return dict(cfg=cfg, work=work, ckpt=work / "epoch_2.pth", log=proc.stdout + proc.stderr)


@pytest.fixture(scope="session")
def mmdet_configs(tmp_path_factory) -> str:
    """MMDetection 3.3.0's own config folder, from its published wheel (downloaded, not installed)."""
    tmp = tmp_path_factory.mktemp("mmdet_wheel")
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "mmdet==3.3.0", "-d", str(tmp)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    wheels = list(tmp.glob("mmdet-3.3.0-*.whl"))
    if proc.returncode != 0 or not wheels:
        pytest.skip(f"MMDetection's wheel (its configs) could not be downloaded: {proc.stderr[-300:]}")
    with zipfile.ZipFile(wheels[0]) as whl:
        whl.extractall(tmp, [n for n in whl.namelist() if n.startswith("mmdet/.mim/configs/")])
    return str(tmp / "mmdet" / ".mim" / "configs")
