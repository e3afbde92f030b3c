"""One checkpoint resolver everywhere: a local path, an http URL and a model-zoo name give the
same weights in tools/test.py, ``load_from``, ``init_cfg=dict(type='Pretrained')`` and
init_detector, through one verified cache; the manifest's hash is checked."""

import hashlib
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
import yaml
from mmengine.config import Config
from mmengine.runner import Runner

from mmcascade.apis import init_detector
from mmcascade.datasets.embedded import CLASSES as SHAPES
from mmcascade.registry import DATASETS, MODELS
from mmcascade.zoo import DownloadError

from helpers import REPO
from helpers.e2e import random_checkpoint, tiny_embedded_cfg


@pytest.fixture
def zoo(tmp_path, file_server, monkeypatch):
    """A tiny config, its random checkpoint served on 127.0.0.1, and a manifest naming it."""
    cfg = tiny_embedded_cfg(tmp_path)
    DATASETS.build(Config.fromfile(cfg).test_dataloader.dataset)  # generates the images
    ckpt = random_checkpoint(cfg, tmp_path / "tiny.pth", {"dataset_meta": {"classes": SHAPES}}, seed=7)
    body = open(ckpt, "rb").read()
    url = file_server.add("/zoo/tiny_shapes.pth", body)
    entry = dict(
        name="tiny_shapes_zoo",
        config=cfg,
        source="openmmlab-v2.0",
        table="test",
        detector="Cascade Mask R-CNN",
        task="instance_segmentation",
        backbone="R-18-FPN",
        style="pytorch",
        schedule="1x",
        images_per_gpu=2,
        test_time_augmentation=False,
        eval_set="embedded_val",
        checkpoint_url=url,
        checkpoint_format="pytorch",
        link_status="as-published",
        hash_prefix=hashlib.sha256(body).hexdigest()[:8],
    )
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump(dict(models=[entry])))
    monkeypatch.setenv("MMCASCADE_MANIFEST", str(manifest))
    monkeypatch.setenv("MMCASCADE_CACHE", str(tmp_path / "cache"))
    return dict(cfg=cfg, ckpt=ckpt, url=url, manifest=manifest, entry=entry, tmp=tmp_path)


def _weights(sd: dict) -> torch.Tensor:
    return sd["roi_head.bbox_head.2.fc_cls.weight"]


def test_load_from_and_pretrained_accept_url_and_zoo_name(zoo):
    expected = _weights(torch.load(zoo["ckpt"], weights_only=True)["state_dict"])
    for source in (zoo["ckpt"], zoo["url"], "tiny_shapes_zoo"):
        cfg = Config.fromfile(zoo["cfg"])
        cfg.work_dir = str(zoo["tmp"] / "runner")
        cfg.load_from = source
        runner = Runner.from_cfg(cfg)
        runner.load_or_resume()
        assert torch.equal(_weights(runner.model.state_dict()), expected), source
    cached = list((zoo["tmp"] / "cache").rglob("tiny_shapes.pth"))
    assert len(cached) == 1  # one cache for the URL and the zoo name
    cfg = Config.fromfile(zoo["cfg"])
    cfg.model.init_cfg = dict(type="Pretrained", checkpoint="tiny_shapes_zoo")
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert torch.equal(_weights(model.state_dict()), expected)
    assert torch.equal(_weights(init_detector(zoo["cfg"], "tiny_shapes_zoo").state_dict()), expected)


def test_a_zoo_file_that_fails_its_hash_is_refused(zoo):
    entry = dict(zoo["entry"], hash_prefix="00000000")
    zoo["manifest"].write_text(yaml.safe_dump(dict(models=[entry])))
    cfg = Config.fromfile(zoo["cfg"])
    cfg.work_dir = str(zoo["tmp"] / "runner")
    cfg.load_from = "tiny_shapes_zoo"
    with pytest.raises(DownloadError, match="does not start with '00000000'"):
        Runner.from_cfg(cfg).load_or_resume()
    cfg.load_from = zoo["url"]  # the URL of a zoo file is checked against the manifest too
    with pytest.raises(DownloadError, match="does not start with '00000000'"):
        Runner.from_cfg(cfg).load_or_resume()
    cfg.load_from = "no_such_model"
    with pytest.raises(FileNotFoundError, match="not a file, an http"):
        Runner.from_cfg(cfg).load_or_resume()


def _ap(proc: subprocess.CompletedProcess) -> str:
    return re.findall(r"coco/bbox_mAP: ([0-9.]+)", proc.stdout + proc.stderr)[-1]


def test_test_py_takes_a_path_a_url_and_a_zoo_name(zoo):
    aps = []
    for source in (zoo["ckpt"], zoo["url"], "tiny_shapes_zoo"):
        proc = subprocess.run(
            [sys.executable, "tools/test.py", zoo["cfg"], source, "--work-dir", str(zoo["tmp"] / "w")],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        aps.append(_ap(proc))
    assert len(set(aps)) == 1
    proc = subprocess.run(
        [sys.executable, "tools/test.py", zoo["cfg"], "tiny_shapes_zoo_v2", "--work-dir", str(zoo["tmp"] / "w")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0 and "is not a file, an http(s) URL or a model-zoo name" in proc.stderr
    assert osp.isdir(zoo["tmp"] / "cache")
