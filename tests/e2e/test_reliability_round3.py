"""Nothing silently wrong, round three, as a user meets it: every tool's refusal is one line on
stderr naming the file or option; class orders, finished runs and diverging runs are named."""

import json
import os
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmcascade.checkpoint import read_checkpoint

from helpers import REPO
from helpers.e2e import MAIN_CFG, run_tool, tiny_embedded_cfg


def mmcascade(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m mmcascade ARGS`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "mmcascade", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, **(env or {})),
    )


def assert_refused(proc: subprocess.CompletedProcess, *words: str) -> str:
    """Exit status non-zero, no traceback, and a line of stderr that holds every one of ``words``."""
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if all(w in line for w in words)]
    assert lines, f"no stderr line with {words}:\n{proc.stderr[-3000:]}"
    return lines[0]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad_files")
    text = tmp / "notes.pth"
    text.write_text("not a checkpoint\n")
    cut = tmp / "cut.bbox.json"
    cut.write_text('[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3')
    onnx_text = tmp / "model.onnx"
    onnx_text.write_text("garbage")
    ann = tmp / "ann.json"
    image = dict(id=1, width=10, height=10, file_name="a.jpg")
    box = dict(id=1, image_id=1, category_id=1, bbox=[1, 1, 4, 4], area=16, iscrowd=0)
    ann.write_text(json.dumps(dict(images=[image], annotations=[box], categories=[dict(id=1, name="a")])))
    return dict(tmp=tmp, text=str(text), cut=str(cut), onnx=str(onnx_text), ann=str(ann))


@pytest.mark.parametrize(
    "case",
    [
        "test-pth-with-backend",
        "test-text-checkpoint",
        "test-not-onnx",
        "export-text-checkpoint",
        "eval-cut-json",
        "print-config-missing",
        "convert-text-checkpoint",
        "dataset-to-coco-missing",
        "demo-missing-image",
        "remap-same-file",
    ],
)
def test_every_refusal_is_one_line_naming_the_file(case, bad_files):
    text, cut, onnx_file, tmp = bad_files["text"], bad_files["cut"], bad_files["onnx"], bad_files["tmp"]
    cases = {
        "test-pth-with-backend": (("test", MAIN_CFG, text, "--backend", "openvino"), ("--backend openvino", text)),
        "test-text-checkpoint": (("test", MAIN_CFG, text), (text, "not a PyTorch checkpoint")),
        "test-not-onnx": (("test", MAIN_CFG, onnx_file, "--backend", "onnxruntime"), (onnx_file, "not an ONNX file")),
        "export-text-checkpoint": (("export", MAIN_CFG, text, str(tmp / "o.onnx")), (text, "not a PyTorch checkpoint")),
        "eval-cut-json": (("analyze", "eval_metric", bad_files["ann"], cut), (cut, "cut short")),
        "print-config-missing": (("print-config", str(tmp / "missing.py")), (str(tmp / "missing.py"),)),
        "convert-text-checkpoint": (
            ("convert", "upgrade_model_version", text, str(tmp / "o.pth")),
            (text, "not a PyTorch checkpoint"),
        ),
        "dataset-to-coco-missing": (("dataset-to-coco", "voc", str(tmp / "nodir"), str(tmp / "o.json")), ("nodir",)),
        "demo-missing-image": (("demo", str(tmp / "missing.jpg"), MAIN_CFG, text), ("missing.jpg",)),
        "remap-same-file": (("convert", "remap_classes", text, MAIN_CFG, text), (text, "another file")),
    }
    args, words = cases[case]
    assert_refused(mmcascade(*args), *words)
    assert not (tmp / "o.onnx").exists() and not (tmp / "o.pth").exists()


def test_a_refusal_shows_its_traceback_when_asked(bad_files):
    proc = mmcascade("test", MAIN_CFG, bad_files["text"], env={"MMCASCADE_DEBUG": "1"})
    assert proc.returncode != 0 and "Traceback" in proc.stderr and "not a PyTorch checkpoint" in proc.stderr


def test_a_path_with_a_comma_stays_one_path():
    proc = mmcascade("print-config", MAIN_CFG, "--cfg-options", "load_from=/data/a,b.pth")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "load_from = '/data/a,b.pth'" in proc.stdout and "kept as one string" in proc.stdout + proc.stderr
    # where the config holds a list, a comma still makes one
    from mmcascade.tools.misc.print_config import main

    text = main([MAIN_CFG, "--cfg-options", "model.data_preprocessor.mean=1,2,3", "load_from=/x/a,b.pth"])
    cfg = Config.fromstring(text, ".py")
    assert list(cfg.model.data_preprocessor.mean) == [1, 2, 3] and cfg.load_from == "/x/a,b.pth"


@pytest.fixture(scope="module")
def one_epoch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("one_epoch")
    cfg = tiny_embedded_cfg(tmp, epochs=1)
    work = tmp / "work"
    run_tool("tools/train.py", cfg, "--work-dir", str(work))
    return dict(cfg=cfg, work=work, ckpt=work / "epoch_1.pth", tmp=tmp)


def test_resuming_a_finished_run_says_nothing_is_left_and_fails(one_epoch):
    proc = mmcascade("train", one_epoch["cfg"], "--work-dir", str(one_epoch["work"]), "--resume")
    line = assert_refused(proc, "nothing left to train")
    assert "epoch_1.pth" in line and "max_epochs" in line
    assert not (one_epoch["work"] / "epoch_2.pth").exists()


def test_classes_in_another_order_are_refused_and_remapped(one_epoch):
    ckpt = read_checkpoint(str(one_epoch["ckpt"]))
    classes = list(ckpt["meta"]["dataset_meta"]["classes"])
    swapped = [classes[1], classes[0], *classes[2:]]
    ckpt["meta"]["dataset_meta"]["classes"] = tuple(swapped)
    permuted = one_epoch["tmp"] / "swapped.pth"
    torch.save(ckpt, permuted)
    line = assert_refused(mmcascade("test", one_epoch["cfg"], str(permuted)), "another order")
    assert f"class 0 is {swapped[0]!r} in the checkpoint and {classes[0]!r} in the config" in line
    assert "remap_classes" in line
    fixed = one_epoch["tmp"] / "fixed.pth"
    proc = mmcascade("convert", "remap_classes", str(permuted), one_epoch["cfg"], str(fixed))
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = read_checkpoint(str(fixed))
    assert list(out["meta"]["dataset_meta"]["classes"]) == classes
    key = next(k for k in out["state_dict"] if k.endswith("fc_cls.weight"))
    before = ckpt["state_dict"][key]
    assert torch.equal(out["state_dict"][key][0], before[1]) and torch.equal(out["state_dict"][key][1], before[0])
    assert torch.equal(out["state_dict"][key][-1], before[-1])  # background stays last
    proc = mmcascade("test", one_epoch["cfg"], str(fixed), "--work-dir", str(one_epoch["tmp"] / "t"))
    assert proc.returncode == 0, proc.stderr[-2000:]


@pytest.mark.parametrize("stop", [False, True])
def test_a_diverging_run_is_named_and_can_be_stopped(tmp_path, stop):
    cfg = Config.fromfile(tiny_embedded_cfg(tmp_path, epochs=1))
    cfg.optim_wrapper.optimizer.lr = 1e4
    cfg.custom_hooks = [dict(type="LossDivergenceHook", factor=100.0, baseline_iters=1, stop=stop)]
    path = str(tmp_path / "diverging.py")
    cfg.dump(path)
    proc = mmcascade("train", path, "--work-dir", str(tmp_path / "work"))
    output = proc.stdout + proc.stderr
    assert "training diverges: loss" in output and "learning rate" in output and "iteration" in output
    if stop:
        assert_refused(proc, "training diverges")
        assert not (tmp_path / "work" / "epoch_1.pth").exists()


def test_results_json_cut_short_names_file_and_line(tmp_path):
    from mmcascade.utils.json_files import JsonFileError, load_json

    path = tmp_path / "results.json"
    path.write_text('[\n  {"image_id": 1,\n   "score": 0.')
    with pytest.raises(JsonFileError, match=r"results.json: the COCO results file ends in the middle .* cut short"):
        load_json(path, "COCO results file")
    path.write_text('[\n  {"image_id": 1,, "score": 0.5}\n]')
    with pytest.raises(JsonFileError, match=r"results.json: .* not valid JSON: .* at line 2, column 18"):
        load_json(path, "COCO results file")
    path.write_text(json.dumps([{"image_id": 1}]))
    assert load_json(path) == [{"image_id": 1}]


@pytest.mark.parametrize("command", ["test", "demo"])
def test_missing_deploy_extra_is_named_by_every_tool_that_needs_it(command, bad_files):
    """The deploy packages blocked as if not installed; the tools run through the mmcascade command."""
    args = (
        ["test", MAIN_CFG, bad_files["onnx"], "--backend", "onnxruntime"]
        if command == "test"
        else ["demo", f"{REPO}/demo/demo.jpg", MAIN_CFG, bad_files["onnx"], "--backend", "openvino"]
    )
    code = (
        "import sys\n"
        "for name in ('onnx', 'onnxruntime', 'openvino'): sys.modules[name] = None\n"
        "from mmcascade.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert_refused(proc, 'pip install "mmcascade[deploy]"')
