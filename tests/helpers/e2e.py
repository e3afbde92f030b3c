"""Helpers of the end-to-end tests: a tiny embedded config, running tools, free ports."""

import os.path as osp
import socket
import subprocess
import sys
import time

from mmengine.config import Config

from helpers import REPO

MAIN_CFG = osp.join(REPO, "configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py")


def tiny_embedded_cfg(tmp_path, epochs: int = 1, custom_hooks: list | None = None, spec: dict | None = None) -> str:
    cfg = Config.fromfile(MAIN_CFG)
    root = str(tmp_path / "data") + "/"
    spec = spec or dict(num_train=6, num_val=4, seed=3)
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        cfg[loader].dataset.update(data_root=root, spec=spec)
        cfg[loader].update(num_workers=0, persistent_workers=False)
    for ev in ("val_evaluator", "test_evaluator"):
        cfg[ev].ann_file = root + "annotations/val.json"
    cfg.train_cfg.update(max_epochs=epochs, val_interval=epochs)
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.logger.interval = 1
    if custom_hooks:
        cfg.custom_hooks = custom_hooks
    path = str(tmp_path / "tiny_embedded.py")
    cfg.dump(path)
    return path


def resumable_tiny_cfg(tmp_path, num_val: int = 2) -> str:
    """The tiny embedded config for 3 epochs of 16 images with the hooks that make a resumed or
    distributed run comparable (per-epoch reseeding, per-rank weight digests)."""
    return tiny_embedded_cfg(
        tmp_path,
        epochs=3,
        spec=dict(num_train=16, num_val=num_val, seed=5),
        custom_hooks=[dict(type="EpochReseedHook"), dict(type="WeightDigestHook")],
    )


def random_checkpoint(cfg: str | Config, path, meta: dict | None = None, seed: int = 0) -> str:
    """Save the seeded random weights of ``cfg``'s model (a path or a Config) as a checkpoint."""
    import torch

    from mmcascade.registry import MODELS

    cfg = Config.fromfile(cfg) if isinstance(cfg, str) else cfg
    torch.manual_seed(seed)
    ckpt = {"state_dict": MODELS.build(cfg.model).state_dict()}
    if meta is not None:
        ckpt["meta"] = meta
    torch.save(ckpt, path)
    return str(path)


def run_tool(*args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd: list[str], port: int, timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """Start ``cmd`` (a server listening on 127.0.0.1:``port``) and wait until ``/health`` answers."""
    import httpx

    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{' '.join(cmd[1:4])} exited: {proc.stdout.read()[-3000:]}")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.5)
    proc.kill()
    name = " ".join(cmd[1:4])
    raise AssertionError(f"{name} did not answer /health within {timeout} s: {proc.stdout.read()[-3000:]}")
