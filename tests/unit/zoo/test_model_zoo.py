"""The model-zoo manifest against both seed pages, row by row, and tools/model_zoo.py."""

import re
from pathlib import Path

import pytest
import yaml

from mmcascade.zoo import DownloadError, ManifestError, get_entry, load_manifest
from mmcascade.zoo.download import apply_mirror
from mmcascade.zoo.fetch import checkpoint_of

from helpers import REPO
from helpers.seed_tables import detectron_rows, ms3x_rows, openmmlab_rows

MANIFEST = load_manifest()


def _https(url: str) -> str:
    return url.replace("http://", "https://", 1)


def test_every_openmmlab_row_is_in_the_manifest():
    rows = openmmlab_rows()
    entries = [e for e in MANIFEST.values() if e.source == "openmmlab-v2.0"]
    assert len(rows) == len(entries) == 20
    for row, entry in zip(rows, entries):
        assert entry.checkpoint_url == _https(row.links["model"]), entry.name
        assert entry.log_url == _https(row.links["log"])
        assert entry.name == row.links["model"].split("/")[-2]
        assert entry.table == row.table and entry.detector == row.table
        assert (entry.backbone, entry.style, entry.schedule) == (row.backbone, row.style, row.schedule)
        assert entry.memory_gb == row.numbers["memory_gb"]
        assert entry.inference_fps == row.numbers["inference_fps"]
        assert entry.box_ap == row.numbers["box_ap"]
        assert entry.mask_ap == row.numbers.get("mask_ap")
        assert entry.has_mask == (row.table == "Cascade Mask R-CNN")
        stem = Path(row.links["model"]).stem
        assert entry.hash_prefix == stem.rsplit("-", 1)[1] and len(entry.hash_prefix) == 8
        assert entry.link_status == "as-published"


def test_every_detectron_row_is_in_the_manifest():
    rows = detectron_rows()
    entries = [e for e in MANIFEST.values() if e.source == "detectron-cascade"]
    assert len(rows) == len(entries) == 20
    previous = None
    for row, entry in zip(rows, entries):
        arch = row.backbone.replace(" [no TTA]", "").rsplit("-", 1)
        assert entry.backbone == arch[0], entry.name
        cascade = arch[1] == "cascade"
        expected = {
            ("Faster", False): "Faster R-CNN",
            ("Faster", True): "Cascade R-CNN",
            ("Mask", False): "Mask R-CNN",
            ("Mask", True): "Cascade Mask R-CNN",
        }
        assert entry.detector == expected[(row.kind, cascade)]
        assert entry.schedule == row.schedule and entry.images_per_gpu == row.images_per_gpu
        assert entry.metrics() == row.numbers
        assert entry.test_time_augmentation == ("Bells" in row.table and "[no TTA]" not in row.backbone)
        links = row.links or previous.links
        assert entry.checkpoint_url == links["model"] and entry.boxes_url == links["boxes"]
        assert entry.masks_url == links.get("masks")
        assert entry.checkpoint_format == "caffe2-pkl" and entry.hash_prefix is None
        # a cascade row whose link is a baseline checkpoint says so instead of hiding it
        linked_is_cascade = "cascade" in links["model"].lower()
        if cascade and not linked_is_cascade:
            assert entry.link_status == "baseline-checkpoint" and "baseline" in entry.note
        elif not row.links:
            assert entry.link_status == "inherited" and entry.note
        else:
            assert entry.link_status == "as-published"
        if row.links:
            previous = row


def test_multiscale_3x_rows_are_in_the_manifest():
    """The rows beyond the original tables: OpenMMLab's multi-scale 3x Cascade Mask R-CNN models."""
    rows = ms3x_rows()
    entries = [e for e in MANIFEST.values() if e.source == "openmmlab-v2.0-ms3x"]
    assert len(rows) == len(entries) == 7
    for row, entry in zip(rows, entries):
        assert entry.name == row["name"] == row["links"]["model"].split("/")[-2]
        assert entry.checkpoint_url == row["links"]["model"] and entry.log_url is None
        assert (entry.backbone, entry.style, entry.schedule) == (row["backbone"], row["style"], "3x")
        assert (entry.memory_gb, entry.box_ap, entry.mask_ap) == tuple(
            row["numbers"][k] for k in ("memory_gb", "box_ap", "mask_ap")
        )
        assert entry.hash_prefix == Path(row["links"]["model"]).stem.rsplit("-", 1)[1]
        assert entry.detector == "Cascade Mask R-CNN" and "beyond the original tables" in entry.note
    from mmengine.config import Config

    cfg = Config.fromfile(str(get_entry("cascade-mask-rcnn_r50_fpn_ms-3x_coco").config_path))
    train = cfg.train_dataloader.dataset
    assert (train.type, train.times) == ("RepeatDataset", 3)
    assert train.dataset.pipeline[2] == dict(type="RandomResize", scale=[(1333, 640), (1333, 800)], keep_ratio=True)
    assert cfg.train_cfg.max_epochs == 12 and cfg.param_scheduler[1].milestones == [9, 11]
    x8d = Config.fromfile(str(get_entry("cascade_mask_rcnn_x101_32x8d_fpn_mstrain_3x_coco").config_path)).model
    assert (x8d.backbone.groups, x8d.backbone.base_width) == (32, 8)
    assert x8d.data_preprocessor.std == [57.375, 57.120, 58.395] and not x8d.data_preprocessor.bgr_to_rgb


def test_config_paths_exist_and_match_the_row():
    from mmengine.config import Config

    for entry in MANIFEST.values():
        assert entry.config_path.is_file(), entry.config
        assert entry.config_path.stem == entry.name
        cfg = Config.fromfile(str(entry.config_path))
        assert ("mask_head" in cfg.model.roi_head) == entry.has_mask, entry.name
        assert cfg.model.backbone.get("style", "pytorch") == entry.style, entry.name
        resnet = re.match(r"[RX]-(\d+)", entry.backbone)  # ResNet / ResNeXt rows name their depth
        if resnet:
            assert cfg.model.backbone.depth == int(resnet.group(1)), entry.name
        assert cfg.train_dataloader.batch_size == entry.images_per_gpu, entry.name
        assert ("tta_model" in cfg and entry.test_time_augmentation) or not entry.test_time_augmentation


def test_generated_readme_is_up_to_date():
    from mmcascade.tools.model_zoo import main

    assert main(["readme", "--check"]) == 0
    text = (Path(REPO) / "model_zoo" / "README.md").read_text()
    for entry in MANIFEST.values():
        assert f"`{entry.name}`" in text


def test_list_shows_all_rows_and_filters(capsys):
    from mmcascade.tools.model_zoo import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in MANIFEST) and " 75 model(s) " in out
    assert main(["list", "--backbone", "X-101-32x4d", "--task", "instance_segmentation"]) == 0
    out = capsys.readouterr().out
    assert " 4 model(s) " in out and "cascade_mask_rcnn_x101_32x4d_fpn_20e_coco" in out
    assert "cascade_mask_rcnn_x101_32x4d_fpn_mstrain_3x_coco" in out
    assert "cascade_mask_rcnn_x101_32x4d_fpn_dconv_c3-c5_1x_coco" in out  # X-101-32x4d-FPN-DCN-c3-c5
    assert main(["show", "cascade_rcnn_r50_fpn_1x_coco"]) == 0
    assert "3dc56deb" in capsys.readouterr().out
    assert main(["show", "cascade_rcnn_r50_fpn"]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_baseline_link_is_refused_unless_accepted(monkeypatch, tmp_path):
    entry = get_entry("cascade_rcnn_r50_fpn_1x_detectron")
    with pytest.raises(DownloadError, match="e2e_faster_rcnn_R-50-FPN_2x"):
        checkpoint_of(entry)
    monkeypatch.setenv("MMCASCADE_CACHE", str(tmp_path))
    with pytest.raises(DownloadError, match="offline"):
        checkpoint_of(entry, accept_link_note=True, offline=True)


def test_mirror_keeps_the_path():
    url = "https://download.openmmlab.com/mmdetection/v2.0/a/b-12345678.pth"
    assert apply_mirror(url, "http://127.0.0.1:9/m/") == "http://127.0.0.1:9/m/mmdetection/v2.0/a/b-12345678.pth"
    assert apply_mirror(url, None) == url


def test_malformed_manifest_names_the_entry_and_field(tmp_path):
    data = yaml.safe_load((Path(REPO) / "model_zoo" / "manifest.yaml").read_text())
    data["models"][3]["link_status"] = "maybe"
    bad = tmp_path / "m.yaml"
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError, match=r"models\[3\] \(cascade_rcnn_r101_caffe_fpn_1x_coco\).*link_status"):
        load_manifest(bad)
    data["models"][3]["link_status"] = "as-published"
    data["models"][3]["boxAP"] = 1
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError, match="unknown field"):
        load_manifest(bad)
    del data["models"][3]["boxAP"]
    data["models"][3]["hash_prefix"] = 40773067  # an all-digit prefix left unquoted reads as a number
    bad.write_text(yaml.safe_dump(data))
    with pytest.raises(ManifestError, match=r"models\[3\].*hash_prefix 40773067 .*quote it"):
        load_manifest(bad)
