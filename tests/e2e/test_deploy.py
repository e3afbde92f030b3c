"""Deployment as a user runs it: ``tools/deploy/export.py`` writes one ONNX file; ONNX Runtime and
OpenVINO run it through ``init_detector`` / ``inference_detector``, ``tools/test.py --backend`` and
the demo, and give PyTorch's detections (same count and labels, boxes within 1e-2 px, scores within
1e-4, masks equal on at least 99.9% of pixels) and PyTorch's AP."""

import hashlib
import re

import cv2
import numpy as np
import pytest

from helpers import REPO
from helpers.e2e import random_checkpoint, run_tool

pytest.importorskip("onnxruntime", reason="the deploy extra (pip install 'mmcascade[deploy]') is not installed")
pytest.importorskip("openvino", reason="the deploy extra (pip install 'mmcascade[deploy]') is not installed")

import pycocotools.mask as mask_utils  # noqa: E402

from mmcascade.apis import inference_detector, init_detector  # noqa: E402
from mmcascade.config import pipelines  # noqa: E402
from mmcascade.config.classes import config_class_names  # noqa: E402
from mmcascade.deploy import export_onnx, read_metadata  # noqa: E402
from mmcascade.deploy.contract import ExportError, to_plain  # noqa: E402
from mmcascade.deploy.verify import check_image, match_detections, score_cutoffs  # noqa: E402
from mmcascade.evaluation.results_io import load_predictions  # noqa: E402

BACKENDS = ("onnxruntime", "openvino")
pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:init_detector")


def images() -> list[np.ndarray]:
    """The exporter's check image at three sizes and aspect ratios."""
    img = check_image()
    return [img, cv2.resize(img, (500, 300)), cv2.resize(img, (360, 640))]


def assert_same(ref, got, what: str, rcnn_cfg: dict) -> None:
    """Same detections (labels, boxes within 1e-2 px, scores within 1e-4; paired by
    ``match_detections``: only detections whose score ties a cutoff may be on one side) and
    masks equal on at least 99.9% of the pixels."""
    a, b = ref.pred_instances, got.pred_instances
    arrays = [{k: inst[k].numpy() for k in ("bboxes", "scores", "labels")} for inst in (a, b)]
    cutoffs = score_cutoffs(arrays[0]["scores"], None, rcnn_cfg["score_thr"], rcnn_cfg["max_per_img"])
    cutoffs += score_cutoffs(arrays[1]["scores"], None, rcnn_cfg["score_thr"], rcnn_cfg["max_per_img"])
    try:
        ei, gi = match_detections(*arrays, cutoffs=cutoffs)
    except ExportError as exc:
        raise AssertionError(f"{what}: {exc}") from None
    assert len(ei) >= len(a) - 1, f"{what}: {len(a) - len(ei)} detections at the cutoff differ"
    if "masks" in a:
        assert a.masks.shape[1:] == b.masks.shape[1:], what
        if len(ei):
            assert float((a.masks[ei] == b.masks[gi]).float().mean()) >= 0.999, what


def compare_backends(cfg, ckpt: str, onnx_file: str, cfg_options: dict | None = None, expect_dets=None) -> None:
    """PyTorch and both runtimes on three image sizes and a ragged batch of two."""
    model = init_detector(cfg, ckpt, device="cpu", cfg_options=cfg_options)
    rcnn_cfg = dict(model.test_cfg["rcnn"])
    imgs = images()
    refs = [inference_detector(model, img) for img in imgs]
    batch_ref = inference_detector(model, imgs[1:], batch_size=2)
    if expect_dets is not None:
        expect_dets(refs)
    for backend in BACKENDS:
        exported = init_detector(cfg, onnx_file, backend=backend, cfg_options=cfg_options)
        for i, (img, ref) in enumerate(zip(imgs, refs)):
            assert_same(ref, inference_detector(exported, img), f"{backend}, image {i}", rcnn_cfg)
        for i, (ref, got) in enumerate(zip(batch_ref, inference_detector(exported, imgs[1:], batch_size=2))):
            assert_same(ref, got, f"{backend}, ragged batch image {i}", rcnn_cfg)


@pytest.fixture(scope="module")
def main_export(trained_tiny, tmp_path_factory):
    """The main job's config trained for two epochs (the session's ``trained_tiny``), exported by
    the command line tool."""
    tmp = tmp_path_factory.mktemp("deploy")
    cfg, ckpt = trained_tiny["cfg"], str(trained_tiny["ckpt"])
    out = tmp / "main.onnx"
    proc = run_tool("tools/deploy/export.py", cfg, ckpt, str(out))
    return dict(cfg=cfg, ckpt=ckpt, onnx=str(out), stdout=proc.stdout, tmp=tmp)


def test_export_checks_the_file_and_records_what_it_was_made_from(main_export):
    assert re.search(r"wrote .*main\.onnx \([0-9.]+ MB\)", main_export["stdout"])
    assert "detections as in PyTorch" in main_export["stdout"]
    meta = read_metadata(main_export["onnx"])
    from mmengine.config import Config

    cfg = Config.fromfile(main_export["cfg"])
    assert meta["classes"] == list(config_class_names(cfg))
    assert meta["checkpoint_sha256"] == hashlib.sha256(open(main_export["ckpt"], "rb").read()).hexdigest()
    assert meta["test_pipeline"] == to_plain(pipelines.test_pipeline_steps(cfg))
    assert meta["test_cfg"]["rcnn"] == {k: cfg.model.test_cfg.rcnn[k] for k in ("score_thr", "max_per_img", "nms")}
    assert meta["batch_size"] == 1 and meta["input_shape"] is None and meta["with_mask"] is True
    import onnx

    graph = onnx.load(main_export["onnx"]).graph
    domains = {node.domain for node in graph.node}
    assert domains <= {"", "ai.onnx"}, f"custom operator domains: {domains}"
    assert {"RoiAlign", "NonMaxSuppression", "TopK"} <= {node.op_type for node in graph.node}


def test_both_runtimes_give_pytorch_detections(main_export):
    compare_backends(main_export["cfg"], main_export["ckpt"], main_export["onnx"])


def test_fewer_proposals_than_max_per_img_and_no_detections(main_export):
    """RPN settings that leave fewer proposals than the RoI head's max_per_img, and a score
    threshold no detection passes: the same results, exported with the same settings."""
    tmp, cfg, ckpt = main_export["tmp"], main_export["cfg"], main_export["ckpt"]
    few = dict({"model.test_cfg.rpn.nms_pre": 6, "model.test_cfg.rpn.max_per_img": 20})
    run_tool(
        "tools/deploy/export.py",
        cfg,
        ckpt,
        str(tmp / "few.onnx"),
        "--no-verify",
        "--cfg-options",
        *(f"{k}={v}" for k, v in few.items()),
    )

    def fewer_than_max(refs):
        assert all(0 < len(r.pred_instances) < 100 for r in refs)

    compare_backends(cfg, ckpt, str(tmp / "few.onnx"), few, fewer_than_max)
    none = {"model.test_cfg.rcnn.score_thr": 0.95}
    run_tool(
        "tools/deploy/export.py",
        cfg,
        ckpt,
        str(tmp / "none.onnx"),
        "--no-verify",
        "--cfg-options",
        "model.test_cfg.rcnn.score_thr=0.95",
    )

    def no_detections(refs):
        assert all(len(r.pred_instances) == 0 for r in refs)

    compare_backends(cfg, ckpt, str(tmp / "none.onnx"), none, no_detections)


def test_a_file_with_other_test_settings_is_refused_naming_both(main_export, tmp_path):
    proc = run_tool_failing(
        "tools/test.py",
        main_export["cfg"],
        main_export["onnx"],
        "--backend",
        "onnxruntime",
        "--work-dir",
        str(tmp_path),
        "--cfg-options",
        "model.test_cfg.rcnn.score_thr=0.3",
    )
    assert "exported with test_cfg.rcnn" in proc.stderr and "'score_thr': 0.05" in proc.stderr
    assert "'score_thr': 0.3" in proc.stderr
    with pytest.raises(ValueError, match="exported with test_cfg.rcnn"):
        init_detector(main_export["cfg"], main_export["onnx"], cfg_options={"model.test_cfg.rcnn.score_thr": 0.3})


def test_export_refusals_name_the_reason(main_export, tmp_path):
    # an existing file is not replaced
    proc = run_tool_failing("tools/deploy/export.py", main_export["cfg"], main_export["ckpt"], main_export["onnx"])
    assert "exists" in proc.stderr and "--overwrite" in proc.stderr
    proc = run_tool_failing(
        "tools/deploy/export.py", main_export["cfg"], main_export["ckpt"], str(tmp_path / "m.onnx"), "--opset", "15"
    )
    assert "at least 16" in proc.stderr
    assert not list(tmp_path.iterdir())
    tta = "configs/detectron_cascade/cascade_mask_rcnn_x152_32x8d_fpn_in5k_s1x_tta_detectron.py"
    with pytest.raises(Exception, match="test-time augmentation"):
        export_onnx(init_detector(tta, None, device="cpu"), tmp_path / "tta.onnx")
    assert not list(tmp_path.iterdir())


def run_tool_failing(*args: str):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0, proc.stdout[-2000:]
    return proc


def coco_metrics(output: str) -> dict[str, float]:
    line = [ln for ln in output.splitlines() if "coco/bbox_mAP:" in ln][-1]
    return {k: float(v) for k, v in re.findall(r"coco/(\w+): ([0-9.]+)", line)}


def test_test_tool_gives_pytorch_ap_with_both_runtimes_and_the_demo_draws(main_export, tmp_path):
    cfg, ckpt, onnx_file = main_export["cfg"], main_export["ckpt"], main_export["onnx"]
    torch_run = run_tool(
        "tools/test.py", cfg, ckpt, "--work-dir", str(tmp_path / "torch"), "--out", str(tmp_path / "torch.pkl")
    )
    expected = coco_metrics(torch_run.stdout + torch_run.stderr)
    assert {"bbox_mAP", "segm_mAP"} <= expected.keys()
    expected_preds = load_predictions(str(tmp_path / "torch.pkl"))
    assert sum(len(p["pred_instances"]["scores"]) for p in expected_preds) > 0
    for backend in BACKENDS:
        out = str(tmp_path / f"{backend}.pkl")
        proc = run_tool(
            "tools/test.py", cfg, onnx_file, "--backend", backend, "--work-dir", str(tmp_path / backend), "--out", out
        )
        got = coco_metrics(proc.stdout + proc.stderr)
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert abs(got[key] - value) < 1e-3, (backend, key, got[key], value)
        for exp, pred in zip(expected_preds, load_predictions(out), strict=True):  # every image's detections
            a, b = (
                {k: np.asarray(p["pred_instances"][k]) for k in ("bboxes", "scores", "labels")} for p in (exp, pred)
            )
            cutoffs = score_cutoffs(a["scores"], None, 0.05, 100) + score_cutoffs(b["scores"], None, 0.05, 100)
            ei, gi = match_detections(a, b, cutoffs=cutoffs)
            assert len(ei) >= len(a["scores"]) - 1, (backend, exp["img_id"])
            for i, j in zip(ei, gi):
                ma, mb = (mask_utils.decode(p["pred_instances"]["masks"][k]) for p, k in ((exp, i), (pred, j)))
                assert (ma == mb).mean() >= 0.999, (backend, exp["img_id"], i)
    img = tmp_path / "street.jpg"
    cv2.imwrite(str(img), check_image())
    run_tool(
        "demo/image_demo.py", str(img), cfg, onnx_file, "--backend", "openvino", "--out-dir", str(tmp_path / "vis")
    )
    drawn = cv2.imread(str(tmp_path / "vis" / "street.jpg"))
    assert drawn is not None and drawn.shape == (480, 640, 3)


def test_full_size_cascade_mask_rcnn_r50(tmp_path):
    """cascade_mask_rcnn_r50_fpn_1x_coco with random weights (a score threshold of 0.001, so that
    every class has candidates: the per-class NMS path of more than 10000 boxes), one
    dynamic-shape file, both runtimes, images at the 400 x 666 scale."""
    cfg = f"{REPO}/configs/cascade_rcnn/cascade_mask_rcnn_r50_fpn_1x_coco.py"
    options = {"model.test_cfg.rcnn.score_thr": 0.001}
    ckpt = random_checkpoint(cfg, tmp_path / "r50.pth", seed=2)
    model = init_detector(cfg, ckpt, device="cpu", cfg_options=options)
    report = export_onnx(model, tmp_path / "r50.onnx", checkpoint=ckpt)
    assert report.detections == 100 and report.box_diff <= 1e-2
    small = dict(options, **{"test_dataloader.dataset.pipeline.1.scale": (666, 400)})

    def full(refs):
        assert all(len(r.pred_instances) == 100 for r in refs)

    compare_backends(cfg, ckpt, str(tmp_path / "r50.onnx"), small, full)


def test_sliced_inference_runs_the_exported_file(main_export):
    """Tiles through the exported file, merged by the same code. An object seen alike in two
    overlapping tiles gives two detections of one score; which of the two the merge keeps is the
    sort's choice among equals, and what that one suppresses then differs: the counts agree to 1%
    (820 and 822 here), the best detections exactly."""
    from mmcascade.apis import inference_sliced

    img = cv2.resize(check_image(), (1000, 750))
    cfg = main_export["cfg"]
    expected = inference_sliced(init_detector(cfg, main_export["ckpt"], device="cpu"), img, slice_size=(400, 400))
    got = inference_sliced(init_detector(cfg, main_export["onnx"], backend="onnxruntime"), img, slice_size=(400, 400))
    a, b = expected.pred_instances, got.pred_instances
    assert len(a) > 100 and abs(len(a) - len(b)) <= 0.01 * len(a)
    best = [i[i.scores.argsort(descending=True)[:50]] for i in (a, b)]
    arrays = [{k: i[k].numpy() for k in ("bboxes", "scores", "labels")} for i in best]
    match_detections(
        *arrays, cutoffs=[float(i.scores.min()) for i in best]
    )  # raises on a detection without counterpart


def test_a_config_of_another_architecture_is_refused_unless_asked(main_export, tmp_path):
    from mmengine.config import Config

    from mmcascade.deploy import BackendMismatchError

    meta = read_metadata(main_export["onnx"])
    assert meta["architecture"] == dict(
        detector="CascadeRCNN", backbone="ResNet18", neck="FPN", roi_head="CascadeRoIHead", num_stages=3, with_mask=True
    )
    assert re.fullmatch(r"[0-9a-f]{16}", meta["config_digest"])
    cfg = Config.fromfile(main_export["cfg"])
    cfg.model.backbone.depth = 34  # the same classes and test settings, another network
    other = str(tmp_path / "other.py")
    cfg.dump(other)
    proc = run_tool_failing("tools/test.py", other, main_export["onnx"], "--backend", "onnxruntime")
    assert "backbone=ResNet18" in proc.stderr and "backbone=ResNet34" in proc.stderr and "Traceback" not in proc.stderr
    with pytest.raises(BackendMismatchError, match="--allow-other-architecture"):
        init_detector(other, main_export["onnx"], backend="onnxruntime")
    model = init_detector(other, main_export["onnx"], backend="onnxruntime", allow_other_architecture=True)
    assert model.metadata["architecture"]["backbone"] == "ResNet18"


def test_the_exported_file_is_served_with_its_detections(main_export):
    """``mmcascade serve`` with the exported file: the server (in process) answers with the
    file's own detections in ONNX Runtime, and says which runtime it uses."""
    import cv2
    import numpy as np
    from fastapi.testclient import TestClient

    from mmcascade.serving.loading import build_app

    img = np.full((256, 320, 3), 90, np.uint8)
    cv2.rectangle(img, (40, 50), (120, 110), (20, 200, 240), -1)
    model = init_detector(main_export["cfg"], main_export["onnx"], backend="onnxruntime")
    expected = inference_detector(model, img).pred_instances
    with TestClient(build_app(main_export["cfg"], main_export["onnx"], backend="onnxruntime")) as client:
        info = client.get("/model").json()
        answer = client.post("/predict", content=cv2.imencode(".png", img)[1].tobytes()).json()["results"][0]
    assert info["backend"] == "onnxruntime" and info["checkpoint"] == "main.onnx"
    boxes = expected.bboxes.numpy()[np.argsort(-expected.scores.numpy(), kind="stable")][:100]
    assert len(answer["detections"]) == len(boxes)
    assert np.allclose([d["box"] for d in answer["detections"]], boxes, atol=1e-3)
