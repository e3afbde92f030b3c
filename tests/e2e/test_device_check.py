"""scripts/device_check.sh --dry-run: the GPU check's script imports, selects the CPU path and writes its figures."""

import json
import os
import subprocess
import sys

from helpers import REPO


def test_device_check_dry_run_selects_cpu_and_writes_every_figure(tmp_path):
    out = tmp_path / "figures"
    env = dict(os.environ, PYTHON=sys.executable)
    proc = subprocess.run(
        ["bash", "scripts/device_check.sh", str(out), "--dry-run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary == dict(device="cpu", dry_run=True, failures=[], skipped=["pytest", "train", "cpu_vs_device"])
    env_info = json.loads((out / "env.json").read_text())
    assert env_info["device"] == "cpu" and env_info["python"] == ".".join(map(str, sys.version_info[:3]))
    ops = json.loads((out / "ops.json").read_text())
    assert ops["ok"] and ops["roi_align_forward_max_abs"] == 0.0 and ops["nms_keep_equal"]
    speed = json.loads((out / "speed.json").read_text())
    assert speed["image"] == "128x192" and speed["float32_images_per_s"] > 0
