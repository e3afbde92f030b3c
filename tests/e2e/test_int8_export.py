"""int8 export as a user runs it, on the session's trained model: ``mmcascade export --int8``
quantizes, measures box and mask AP of the float32 and the int8 file on the val images, and keeps
the OpenVINO IR only when the drop is within ``--max-ap-drop``; the IR runs in ``test``, ``demo``,
``init_detector`` and ``inference_sliced`` unchanged."""

import re
import subprocess
import sys

import cv2
import pytest

from helpers import REPO
from helpers.e2e import run_tool

pytest.importorskip("openvino", reason="the deploy extra (pip install 'mmcascade[deploy]') is not installed")
pytest.importorskip("nncf", reason="the deploy extra (pip install 'mmcascade[deploy]') is not installed")

from mmcascade.apis import inference_detector, inference_sliced, init_detector  # noqa: E402
from mmcascade.deploy import read_metadata  # noqa: E402
from mmcascade.deploy.verify import check_image  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning", "ignore:init_detector")


def export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "tools/deploy/export.py", *args], cwd=REPO, capture_output=True, text=True, timeout=900
    )


def export_int8(cfg: str, ckpt: str, out, *options: str) -> subprocess.CompletedProcess:
    """``export CFG CKPT OUT --int8``, the gate on the 4 val images of the session's model."""
    return export(cfg, ckpt, str(out), "--int8", "--eval-size", "4", *options)


def printed_ap(stdout: str) -> dict[str, tuple[float, float, float]]:
    found = re.findall(r"(bbox|segm) AP on 4 val images: float32 ([0-9.]+), int8 ([0-9.]+) \(drop (-?[0-9.]+)", stdout)
    return {task: (float(a), float(b), float(d)) for task, a, b, d in found}


@pytest.fixture(scope="module")
def int8_export(trained_tiny, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("int8")
    out = tmp / "model_int8.xml"
    proc = export_int8(trained_tiny["cfg"], str(trained_tiny["ckpt"]), out, "--calib-size", "4")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return dict(cfg=trained_tiny["cfg"], ckpt=str(trained_tiny["ckpt"]), xml=out, tmp=tmp, stdout=proc.stdout)


def test_the_int8_file_records_its_calibration_and_ap(int8_export):
    xml = int8_export["xml"]
    assert xml.is_file() and xml.with_suffix(".bin").is_file()
    assert sorted(p.name for p in xml.parent.iterdir()) == ["model_int8.bin", "model_int8.xml"]  # no leftovers
    printed = printed_ap(int8_export["stdout"])
    assert set(printed) == {"bbox", "segm"}
    q = read_metadata(xml)["quantization"]
    assert q["precision"] == "int8" and q["tool"].startswith("nncf ")
    assert q["calibration"] == dict(source="val", images=4)
    ev = q["evaluation"]
    assert ev["images"] == 4 and ev["max_ap_drop"] == 0.5
    for task, (fp32, int8, drop) in printed.items():
        assert ev["fp32_ap"][task] == pytest.approx(fp32, abs=0.051) and ev["int8_ap"][task] == pytest.approx(
            int8, abs=0.051
        )
        assert ev["ap_drop"][task] == pytest.approx(drop, abs=0.0051)
        assert ev["ap_drop"][task] == pytest.approx(ev["fp32_ap"][task] - ev["int8_ap"][task], abs=0.011)
        assert ev["ap_drop"][task] <= 0.5
    # the weights are int8: about a quarter of the float32 file
    assert xml.with_suffix(".bin").stat().st_size < 0.4 * sum(p.numel() * 4 for p in _weights(int8_export))


def _weights(int8_export):
    return list(init_detector(int8_export["cfg"], int8_export["ckpt"], device="cpu").parameters())


def test_the_gate_refuses_below_the_measured_drop_and_leaves_nothing(int8_export, tmp_path):
    drop = max(read_metadata(int8_export["xml"])["quantization"]["evaluation"]["ap_drop"].values())
    out = tmp_path / "refused.xml"
    proc = export_int8(
        int8_export["cfg"], int8_export["ckpt"], out, "--calib-size", "4", "--max-ap-drop", str(round(drop - 0.1, 2))
    )
    assert proc.returncode == 1
    assert "int8 AP fell by more than --max-ap-drop" in proc.stderr and "float32 ->" in proc.stderr
    assert "nothing was written" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # no .xml, no .bin, no temporary folder


def test_refusals_before_any_work(int8_export, tmp_path):
    cfg, ckpt = int8_export["cfg"], int8_export["ckpt"]
    proc = export(cfg, ckpt, str(tmp_path / "m.onnx"), "--int8")
    assert proc.returncode == 1 and "must end in .xml" in proc.stderr
    proc = export(cfg, ckpt, str(int8_export["xml"]), "--int8")
    assert proc.returncode == 1 and "exists" in proc.stderr and "--overwrite" in proc.stderr
    proc = export(cfg, ckpt, str(tmp_path / "m.xml"), "--int8", "--calib", str(tmp_path))
    assert proc.returncode == 1 and "has no images" in proc.stderr
    proc = export(cfg, ckpt, str(tmp_path / "m.onnx"), "--calib-size", "5")
    assert proc.returncode == 1 and "go with --int8" in proc.stderr
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="runs in OpenVINO"):
        init_detector(cfg, str(int8_export["xml"]), backend="onnxruntime")


def test_a_folder_of_images_calibrates_and_the_images_evaluated_are_counted(int8_export, tmp_path):
    images = tmp_path / "calib"
    images.mkdir()
    for i in range(3):
        cv2.imwrite(str(images / f"{i}.png"), cv2.resize(check_image(), (320 - 40 * i, 256)))
    out = tmp_path / "folder.xml"
    # the default --eval-size (100) on a val set of 4: the figures say 4 images were evaluated
    proc = export(
        int8_export["cfg"], int8_export["ckpt"], str(out), "--int8", "--calib", str(images), "--max-ap-drop", "100"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(printed_ap(proc.stdout)) == {"bbox", "segm"}  # "... AP on 4 val images ..."
    assert read_metadata(out)["quantization"]["evaluation"]["images"] == 4
    assert read_metadata(out)["quantization"]["calibration"] == dict(source=str(images), images=3)


def test_the_int8_file_runs_in_test_demo_and_the_apis(int8_export, tmp_path):
    cfg, xml = int8_export["cfg"], str(int8_export["xml"])
    proc = run_tool("tools/test.py", cfg, xml, "--work-dir", str(tmp_path / "test"))  # .xml: OpenVINO
    line = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "coco/bbox_mAP:" in ln][-1]
    ap = 100 * float(re.search(r"coco/bbox_mAP: ([0-9.]+)", line)[1])
    expected = read_metadata(xml)["quantization"]["evaluation"]["int8_ap"]["bbox"]
    assert ap == pytest.approx(expected, abs=0.051)  # the test tool measures what the gate measured
    img = tmp_path / "shapes.png"
    cv2.imwrite(str(img), check_image())
    run_tool("demo/image_demo.py", str(img), cfg, xml, "--backend", "openvino", "--out-dir", str(tmp_path / "vis"))
    assert cv2.imread(str(tmp_path / "vis" / "shapes.png")).shape == (480, 640, 3)
    model = init_detector(cfg, xml)  # an .xml runs in OpenVINO without being told
    assert model.backend == "openvino"
    one = inference_detector(model, check_image())
    assert len(one.pred_instances) > 0 and "masks" in one.pred_instances
    sliced = inference_sliced(model, cv2.resize(check_image(), (800, 600)), slice_size=(400, 400))
    assert len(sliced.pred_instances) > 0
