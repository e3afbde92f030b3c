"""The ``mmcascade`` command, config lookup by name, MMDetection 3 names and scope, mim metadata."""

import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from mmcascade.config.loading import adopt_default_scope
from mmcascade.zoo import find_config, get_entry, load_manifest
from mmcascade.zoo.manifest import v3_name

from helpers import REPO


@pytest.mark.e2e  # runs the tool in a subprocess
def test_python_m_mmcascade_version_and_usage():
    out = subprocess.run([sys.executable, "-m", "mmcascade", "--version"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 0 and out.stdout.strip().startswith("mmcascade ")
    from mmcascade.ops import mmcv_ops

    lines = out.stdout.splitlines()
    assert ("compiled ops for CPU" if mmcv_ops() is not None else "no compiled ops") in lines[1]
    roi_align = "mmcascade's (torch)"  # the CPU default with or without mmcv's ops
    nms = "mmcv's" if mmcv_ops() is not None else "mmcascade's (torch)"
    assert lines[2] == f"cpu: RoIAlign {roi_align}, NMS {nms}"
    out = subprocess.run([sys.executable, "-m", "mmcascade", "bogus"], capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 2 and "unknown command 'bogus'" in out.stderr and "mmcascade train" in out.stderr


def test_cli_runs_the_repository_tools(capsys):
    from mmcascade.cli import main

    assert main(["zoo", "list", "--backbone", "X-101-32x4d", "--task", "instance_segmentation"]) == 0
    assert "cascade_mask_rcnn_x101_32x4d_fpn_1x_coco" in capsys.readouterr().out
    assert main(["configs", "embedded"]) == 0
    assert "embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py" in capsys.readouterr().out.splitlines()
    assert main(["analyze"]) == 2 and "analyze_logs" in capsys.readouterr().err
    assert main(["launcher", "slurm_train"]) == 0
    assert Path(capsys.readouterr().out.strip()) == Path(REPO) / "tools" / "slurm_train.sh"


@pytest.mark.parametrize(
    "name,expected",
    [
        ("cascade_rcnn_r50_caffe_fpn_1x_coco", "cascade-rcnn_r50-caffe_fpn_1x_coco"),
        ("cascade_rcnn_r50_fpn_1x_coco", "cascade-rcnn_r50_fpn_1x_coco"),
        ("cascade_mask_rcnn_x101_32x4d_fpn_20e_coco", "cascade-mask-rcnn_x101-32x4d_fpn_20e_coco"),
        ("cascade_mask_rcnn_x101_64x4d_fpn_1x_coco", "cascade-mask-rcnn_x101-64x4d_fpn_1x_coco"),
        ("cascade_mask_rcnn_r50_caffe_fpn_mstrain_3x_coco", "cascade-mask-rcnn_r50-caffe_fpn_ms-3x_coco"),
        ("cascade_mask_rcnn_x101_32x8d_fpn_mstrain_3x_coco", "cascade-mask-rcnn_x101-32x8d_fpn_ms-3x_coco"),
    ],
)
def test_mmdetection3_names(name, expected):
    assert v3_name(name) == expected
    assert get_entry(expected).name == name
    assert find_config(expected) == find_config(name) == get_entry(name).config_path


def test_every_zoo_row_is_reachable_under_both_names():
    manifest = load_manifest()
    v3 = {v3_name(n) for n in manifest}
    assert len(v3) == len(manifest) == 75
    for name in manifest:
        assert get_entry(v3_name(name)).name == name


def test_config_lookup_by_path_name_and_typo():
    main = "configs/embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py"
    for spelling in (
        main,
        "embedded/cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py",
        "cascade-mask-rcnn_r18-w32-gn_fpn_embedded",
        "cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py",
    ):
        assert find_config(spelling).resolve() == (Path(REPO) / main).resolve(), spelling
    with pytest.raises(FileNotFoundError, match="did you mean cascade_rcnn_r50_fpn_1x_coco"):
        find_config("cascade_rcnn_r50_fpn_1x_cooc")


def test_mmdetection3_scope_is_adopted_with_a_notice_and_others_refused(monkeypatch):
    import mmcascade.config.loading as tools

    logged = []
    monkeypatch.setattr(tools, "print_log", lambda msg, **kwargs: logged.append(msg))
    cfg = Config(dict(default_scope="mmdet", model=dict(type="CascadeRCNN")))
    adopt_default_scope(cfg)
    assert cfg.default_scope == "mmcascade"
    assert len(logged) == 1 and "default_scope='mmdet'" in logged[0] and "\n" not in logged[0]
    cfg = Config(dict(default_scope="mmseg"))
    with pytest.raises(ValueError, match="default_scope='mmseg'.*set default_scope = 'mmcascade'"):
        adopt_default_scope(cfg)


def test_mmdetection3_config_trains_through_train_py(tmp_path):
    from helpers.e2e import MAIN_CFG

    cfg = Config.fromfile(MAIN_CFG)
    cfg.default_scope = "mmdet"
    path = tmp_path / "mmdet_style.py"
    cfg.dump(str(path))
    from mmcascade.config.loading import check_run_config
    from mmcascade.tools.common import read_tool_config
    from mmcascade.tools.train import parse_args

    args = parse_args([str(path), "--work-dir", str(tmp_path / "w")])
    loaded = read_tool_config(args)
    assert loaded.default_scope == "mmcascade"
    before = loaded.to_dict()
    check_run_config(loaded)  # a pure check: the config is left as it is
    assert loaded.to_dict() == before


def test_runtime_setup_is_a_step_of_its_own(tmp_path):
    from mmcascade.config.loading import load_tool_config
    from mmcascade.utils.dist_env import setup_runtime

    from helpers.e2e import MAIN_CFG

    cfg = load_tool_config(MAIN_CFG, work_dir=str(tmp_path / "w"))
    assert "dist_cfg" not in cfg.get("env_cfg", {}) or "timeout" not in cfg.env_cfg.dist_cfg
    setup_runtime(cfg)
    assert cfg.env_cfg.dist_cfg.backend == "gloo" and cfg.env_cfg.dist_cfg.timeout > 0


def test_mim_reader_accepts_the_generated_metadata():
    from modelindex.load_model_index import load

    index = load(str(Path(REPO) / "model-index.yml"))
    models = {m.name: m for m in index.models}
    assert len(models) == 75
    row = models["cascade_mask_rcnn_r50_fpn_1x_coco"]
    entry = get_entry(row.name)
    assert row.config == entry.config and row.weights == entry.checkpoint_url
    assert (Path(REPO) / row.config).is_file()
    metrics = {r.task: r.metrics for r in row.results}
    assert metrics == {
        "Object Detection": {"box AP": entry.box_ap},
        "Instance Segmentation": {"mask AP": entry.mask_ap},
    }
    assert row.in_collection == "Cascade Mask R-CNN"


def test_external_config_inherits_a_shipped_one_with_the_package_prefix(tmp_path):
    (tmp_path / "mine.py").write_text(
        "_base_ = 'mmcascade::cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py'\n"
        "model = dict(rpn_head=dict(feat_channels=128))\n"
        "train_cfg = dict(max_epochs=2)\n"
    )
    cfg = Config.fromfile(str(tmp_path / "mine.py"))
    assert cfg.model.type == "CascadeRCNN" and cfg.train_cfg.max_epochs == 2
    from mmcascade.registry import MODELS

    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    assert model.rpn_head.rpn_conv.out_channels == 128 and len(model.roi_head.bbox_head) == 3


@pytest.mark.e2e  # subprocesses reading the CLI as a shell user does
def test_cli_help_everywhere_and_quiet_on_a_closed_pipe():
    def sh(cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-c", cmd], cwd=REPO, capture_output=True, text=True, timeout=120)

    mm = f"{sys.executable} -m mmcascade"
    for cmd in (f"{mm} zoo list | head -1", f"{mm} configs | head -1"):
        proc = sh(f"set -o pipefail; {cmd}")
        assert proc.returncode == 0 and "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr
    assert "usage: mmcascade configs [PATTERN]" in sh(f"{mm} configs --help").stdout
    assert "usage: video_demo.py" in sh(f"{mm} demo-video --help").stdout
    assert "usage: publish_model.py" in sh(f"{mm} convert publish_model --help").stdout
    assert "detectron_to_mmcascade" in sh(f"{mm} convert").stderr
    printed = sh(f"{mm} print-config cascade_rcnn_r50_fpn_1x_coco --cfg-options train_cfg.max_epochs=3").stdout
    assert "max_epochs=3" in printed and "type='CascadeRoIHead'" in printed
    three = sh(f"{mm} zoo list --source openmmlab-v2.0-ms3x --schedule 3x").stdout
    assert "+ 7 model(s)" in three and "mstrain_3x" in three
