"""A built wheel, installed into a fresh virtualenv with the checkout out of the way: the console
script trains and tests, and a config outside the repository inherits a shipped one with the
``mmcascade::`` prefix."""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from helpers import REPO

pytestmark = pytest.mark.e2e
SKIP = shutil.ignore_patterns(
    ".git", "data", "work_dirs", "build", "dist", "*.egg-info", "__pycache__", ".venv", "*.pyc", ".mim"
)

USER_CONFIG = """\
_base_ = 'mmcascade::embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py'
data_root = '{root}/'
spec = dict(num_train=4, num_val=2, seed=3)
train_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root, spec=spec))
val_dataloader = dict(num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root, spec=spec))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/val.json')
test_evaluator = val_evaluator
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
"""


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}\n{out[-4000:]}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(venv python, mmcascade script, work folder)`` with a wheel of this checkout installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(REPO, src, ignore=SKIP)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp / "dist"),
            str(src),
        ],
        cwd=tmp,
    )
    wheel = next((tmp / "dist").glob("mmcascade-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "mmcascade/.mim/tools/train.py",
        "mmcascade/.mim/tools/dist_train.sh",
        "mmcascade/.mim/model-index.yml",
        "mmcascade/.mim/configs/cascade_rcnn/metafile.yml",
        "mmcascade/.mim/demo/image_demo.py",
        "mmcascade/ops/roi_align.py",
        "mmcascade/serving/static/index.html",
    ):
        assert shipped in names, shipped
    # The venv sees torch, mmcv and mmengine of this interpreter, but mmcascade only from the wheel.
    # When this interpreter is itself a virtualenv, --system-site-packages would reach only the
    # base Python's packages, so its site-packages are added by a .pth file (plain paths: the
    # editable install of the checkout that lives there is not activated).
    run([sys.executable, "-m", "venv", "--system-site-packages", str(tmp / "venv")], cwd=tmp)
    py = tmp / "venv" / "bin" / "python"
    venv_site = run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).strip()
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    Path(venv_site, "outer_site_packages.pth").write_text("".join(f"{p}\n" for p in ours))
    run([str(py), "-m", "pip", "install", "-q", "--no-deps", str(wheel)], cwd=tmp)
    shutil.rmtree(src)
    work = tmp / "user"
    work.mkdir()
    return py, tmp / "venv" / "bin" / "mmcascade", work


def test_wheel_console_script_trains_and_tests_from_a_user_config(installed):
    py, script, work = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MMCASCADE_MANIFEST")}
    # Where the package, its resources, a shipped config by name and a zoo row by MMDetection 3's
    # name resolve from the installed package.
    where = run(
        [
            str(py),
            "-c",
            "import mmcascade, mmcascade.zoo.manifest as m; print(mmcascade.__file__); "
            "print(m.resource_root()); from mmcascade.zoo import find_config, get_entry; "
            "print(find_config('cascade-mask-rcnn_r18-w32-gn_fpn_embedded')); "
            "print(get_entry('cascade-mask-rcnn_x101-32x4d_fpn_20e_coco').name)",
        ],
        cwd=work,
        env=env,
    ).split()
    assert "site-packages" in where[0] and where[1].endswith("mmcascade/.mim"), where
    assert "site-packages" in where[2] and where[3] == "cascade_mask_rcnn_x101_32x4d_fpn_20e_coco"
    version = run([str(script), "--version"], cwd=work, env=env).splitlines()
    assert version[0].startswith("mmcascade 0.1.0, torch ") and version[2].startswith("cpu: RoIAlign mmcascade's")
    launcher = Path(run([str(script), "launcher", "dist_train"], cwd=work, env=env).strip())
    assert launcher.is_file() and "site-packages" in str(launcher)
    (work / "my_config.py").write_text(USER_CONFIG.format(root=work / "data"))
    out = run([str(script), "train", "my_config.py", "--work-dir", "run"], cwd=work, env=env)
    assert (work / "run" / "epoch_1.pth").is_file(), out[-2000:]
    assert "Failed to search registry" not in out  # every registry has its mmcascade child
    out = run([str(script), "test", "my_config.py", "run/epoch_1.pth", "--work-dir", "run"], cwd=work, env=env)
    assert "coco/bbox_mAP" in out and "coco/segm_mAP" in out
