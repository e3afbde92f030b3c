"""A built (non-editable) mmcascade carries its configs and model-zoo manifest."""

import os
import subprocess
import sys
from pathlib import Path

from helpers import REPO as _REPO

REPO = Path(_REPO)


def test_built_package_finds_configs_and_manifest_without_the_checkout(tmp_path):
    build_lib = tmp_path / "site"
    subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(build_lib)],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    mim = build_lib / "mmcascade" / ".mim"
    assert (mim / "model_zoo" / "manifest.yaml").is_file()
    assert (mim / "configs" / "_base_" / "models" / "cascade-rcnn_r50_fpn.py").is_file()
    shipped = {p.relative_to(mim / "configs") for p in (mim / "configs").rglob("*.py")}
    assert shipped == {p.relative_to(REPO / "configs") for p in (REPO / "configs").rglob("*.py")}
    # Import the built copy from elsewhere: the zoo must resolve to .mim, and a config with
    # _base_ inheritance must load from there.
    probe = (
        "from mmcascade.zoo import get_entry, load_manifest\n"
        "from mmcascade.zoo.manifest import DEFAULT_MANIFEST\n"
        "from mmengine.config import Config\n"
        "entry = get_entry('cascade_mask_rcnn_r50_fpn_1x_coco')\n"
        "cfg = Config.fromfile(str(entry.config_path))\n"
        "print(DEFAULT_MANIFEST)\n"
        "print(entry.config_path)\n"
        "print(cfg.model.type, cfg.model.roi_head.num_stages, len(load_manifest()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MMCASCADE_MANIFEST"}
    env["PYTHONPATH"] = str(build_lib)
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, check=True, capture_output=True, text=True
    ).stdout.splitlines()
    assert out[0] == str(mim / "model_zoo" / "manifest.yaml")
    assert out[1].startswith(str(mim / "configs"))
    assert out[2] == "CascadeRCNN 3 75"
