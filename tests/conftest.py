"""Shared fixtures: registry scope, seeding, a local file server, a tiny trained model; the e2e marker."""

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
