"""Demos and analysis tools on the embedded data: pictures checked for size and content,
numbers against independent computations."""

import json
import warnings

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from mmcascade.analysis.complexity import count_costs
from mmcascade.analysis.confusion import image_confusion
from mmcascade.registry import DATASETS, MODELS

from helpers.e2e import random_checkpoint, run_tool, tiny_embedded_cfg


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tools")
    cfg_path = tiny_embedded_cfg(tmp, spec=dict(num_train=4, num_val=4, seed=9))
    cfg = Config.fromfile(cfg_path)
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    ckpt = random_checkpoint(cfg, tmp / "model.pth")
    return cfg_path, ckpt, cfg, dataset, tmp


def _is_picture(path, size_hw) -> None:
    img = Image.open(path)
    assert (img.height, img.width) == tuple(size_hw), path
    assert len(set(img.convert("L").getdata())) > 20, f"{path} looks blank"


def test_image_demo_on_a_folder_with_an_unreadable_file(tiny):
    cfg_path, ckpt, cfg, dataset, tmp = tiny
    folder = tmp / "imgs"
    folder.mkdir()
    root = cfg.test_dataloader.dataset.data_root
    names = [dataset[i]["data_samples"].img_path for i in range(2)]
    for n in names:
        (folder / n.split("/")[-1]).write_bytes(open(n, "rb").read())
    (folder / "broken.png").write_bytes(b"not a png at all")
    (folder / "dangling.png").symlink_to(folder / "gone.png")
    (folder / "loop_a.jpg").symlink_to(folder / "loop_b.jpg")
    (folder / "loop_b.jpg").symlink_to(folder / "loop_a.jpg")
    proc = run_tool(
        "demo/image_demo.py", str(folder), cfg_path, ckpt, "--out-dir", str(tmp / "out"), "--score-thr", "0.0"
    )
    assert "skipped unreadable image" in proc.stderr and "broken.png" in proc.stderr
    for link in ("dangling.png", "loop_a.jpg", "loop_b.jpg"):  # skipped, not the end of the run
        assert f"{link}: a symbolic link to nothing or a link loop" in proc.stderr
    assert "saved 2 image(s)" in proc.stdout
    for n in names:
        _is_picture(tmp / "out" / n.split("/")[-1], cv2.imread(n).shape[:2])
    assert root  # the embedded data root was generated


def test_video_demo(tiny):
    cfg_path, ckpt, cfg, dataset, tmp = tiny
    frames = [cv2.resize(cv2.imread(dataset[i]["data_samples"].img_path), (160, 128)) for i in range(3)]
    video = str(tmp / "in.avi")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 5, (160, 128))
    for f in frames:
        writer.write(f)
    writer.release()
    out = str(tmp / "out.mp4")
    proc = run_tool("demo/video_demo.py", video, cfg_path, ckpt, "--out", out, "--score-thr", "0.0")
    assert "wrote 3 frame(s)" in proc.stdout
    reader = cv2.VideoCapture(out)
    read = []
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        read.append(frame)
    assert len(read) == 3 and read[0].shape == (128, 160, 3) and read[0].std() > 5


def test_browse_dataset_draws_what_the_train_pipeline_produces(tiny):
    cfg_path, _, cfg, _, tmp = tiny
    proc = run_tool(
        "tools/analysis_tools/browse_dataset.py",
        cfg_path,
        "--output-dir",
        str(tmp / "browse"),
        "--show-number",
        "3",
        "--cfg-options",
        "train_dataloader.dataset.pipeline.3.prob=1.0",
    )
    assert "saved 3 image(s)" in proc.stdout
    train = DATASETS.build(cfg.train_dataloader.dataset)
    for i in range(3):
        item = train[i]
        name = item["data_samples"].img_path.split("/")[-1]
        _is_picture(tmp / "browse" / name, item["inputs"].shape[1:])


def test_benchmark_tool(tiny):
    cfg_path, ckpt, *_ = tiny
    proc = run_tool("tools/analysis_tools/benchmark.py", cfg_path, ckpt, "--repeat", "3", "--warmup", "1")
    figures = {k.strip(): v for k, v in (line.rsplit(None, 1) for line in proc.stdout.splitlines()[-5:])}
    p50, p99 = float(figures["latency p50 (ms)"]), float(figures["latency p99 (ms)"])
    assert 0 < p50 <= p99 and float(figures["images/s"]) > 0 and float(figures["peak memory (GB)"]) > 0.1
    proc = run_tool("tools/analysis_tools/benchmark.py", cfg_path, "--task", "train", "--repeat", "2", "--warmup", "1")
    assert "s/iter" in proc.stdout and "batch size          2" in proc.stdout


def test_flops_per_component_by_hand(tiny):
    _, _, cfg, _, _ = tiny
    model = MODELS.build(cfg.model).eval()
    costs = {c.name: c for c in count_costs(model, (64, 96), num_rois=10, num_mask_rois=4)}
    assert list(costs)[:3] == ["backbone", "neck", "rpn head"]
    head = model.roi_head.bbox_head[0]
    fc, c_in = head.shared_fcs[0].out_features, head.shared_fcs[0].in_features
    expected = 10 * (c_in * fc + fc * fc + fc * (head.num_classes + 1) + fc * 4)  # class-agnostic regression
    for s in (1, 2, 3):
        assert costs[f"stage {s} box head"].macs == expected
        assert costs[f"stage {s} mask head"].macs > 0
    # stem conv: 7x7, stride 2, on a 64x96 input -> 32x48 outputs
    stem = model.backbone.conv1
    assert costs["backbone"].macs >= 32 * 48 * stem.out_channels * 3 * 49
    assert sum(c.params for c in costs.values()) == sum(p.numel() for p in model.parameters())
    proc = run_tool("tools/analysis_tools/get_flops.py", tiny[0], "--shape", "64", "96")
    assert "stage 3 mask head" in proc.stdout and "total" in proc.stdout


def test_confusion_matrix_counts(tiny):
    cfg_path, _, cfg, _, tmp = tiny
    ann = json.loads(open(cfg.test_evaluator.ann_file).read())
    img_ids = sorted(i["id"] for i in ann["images"])
    by_img = {i: [a for a in ann["annotations"] if a["image_id"] == i] for i in img_ids}
    cats = sorted(c["id"] for c in ann["categories"])
    label = {c: i for i, c in enumerate(cats)}
    expected = np.zeros((len(cats) + 1,) * 2, int)
    results = []
    for a in by_img[img_ids[0]]:  # every object found with its class
        results.append(dict(image_id=img_ids[0], bbox=a["bbox"], score=0.9, category_id=a["category_id"]))
        expected[label[a["category_id"]], label[a["category_id"]]] += 1
    wrong = by_img[img_ids[1]][0]  # one object given the next class
    other = cats[(label[wrong["category_id"]] + 1) % len(cats)]
    results.append(dict(image_id=img_ids[1], bbox=wrong["bbox"], score=0.8, category_id=other))
    expected[label[wrong["category_id"]], label[other]] += 1
    results.append(dict(image_id=img_ids[1], bbox=[0, 0, 2, 2], score=0.7, category_id=cats[0]))  # a false positive
    expected[len(cats), 0] += 1
    results.append(dict(image_id=img_ids[1], bbox=wrong["bbox"], score=0.1, category_id=cats[0]))  # below thr
    for i in img_ids[1:]:
        for a in by_img[i][(1 if i == img_ids[1] else 0) :]:
            expected[label[a["category_id"]], len(cats)] += 1  # missed
    path = tmp / "results.bbox.json"
    path.write_text(json.dumps(results))
    run_tool("tools/analysis_tools/confusion_matrix.py", cfg_path, str(path), str(tmp / "cm"))
    np.testing.assert_array_equal(np.load(tmp / "cm" / "confusion_matrix.npy"), expected)
    assert Image.open(tmp / "cm" / "confusion_matrix.png").size[0] > 300


def test_image_confusion_edge_cases():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = image_confusion(np.zeros((0, 4)), np.zeros(0, int), np.array([[0, 0, 5, 5]]), np.array([1]), 2)
    assert m[2, 1] == 1 and m.sum() == 1
    m = image_confusion(np.array([[0, 0, 5, 5]]), np.array([0]), np.zeros((0, 4)), np.zeros(0, int), 2)
    assert m[0, 2] == 1 and m.sum() == 1
