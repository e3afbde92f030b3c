"""Serving pieces on hand-made inputs: images refused with the right status and reason, the JSON
answer of known detections (order, filtering, class names, masks as RLE), batches formed from
concurrent submissions."""

import asyncio

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from pycocotools import mask as mask_utils

from mmcascade.serving import Batcher, RequestError, decode_image, detections_json
from mmcascade.serving.metrics import Metrics
from mmcascade.structures import DetDataSample


def _png(h: int = 20, w: int = 30) -> bytes:
    img = np.zeros((h, w, 3), np.uint8)
    img[5:10, 3:8] = (10, 20, 250)
    return cv2.imencode(".png", img)[1].tobytes()


def test_decode_image_reads_bgr():
    img = decode_image(_png(), "a.png", max_bytes=10_000, max_pixels=1000)
    assert img.shape == (20, 30, 3) and img.dtype == np.uint8 and img[6, 4].tolist() == [10, 20, 250]


@pytest.mark.parametrize(
    "data, limits, status, reason",
    [
        (b"", (10_000, 1000), 400, "empty file"),
        (b"GIF89a but not really", (10_000, 1000), 400, "not an image file"),
        (_png()[:60], (10_000, 1000), 400, "truncated or corrupt"),
        (_png(), (50, 1000), 413, "more than the limit of 50"),
        (_png(), (10_000, 599), 413, "30x20 pixels, more than the limit of 599"),
    ],
)
def test_decode_image_refusals(data, limits, status, reason):
    with pytest.raises(RequestError, match=reason) as info:
        decode_image(data, "a.png", *limits)
    assert info.value.status == status and info.value.reason.startswith("a.png: ")


def test_detections_json_orders_filters_and_encodes_masks():
    masks = torch.zeros(3, 8, 10, dtype=torch.bool)
    masks[0, 1:3, 2:5] = True
    masks[2, 4:8, 0:2] = True
    sample = DetDataSample(metainfo=dict(ori_shape=(8, 10)))
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor([[2.0, 1, 5, 3], [0, 0, 1, 1], [0, 4, 2, 8]]),
        scores=torch.tensor([0.5, 0.2, 0.9]),
        labels=torch.tensor([1, 0, 4]),
        masks=masks,
    )
    out = detections_json(sample, ["cat", "dog"], score_thr=0.3, max_dets=10, name="x.png")
    assert (out["name"], out["width"], out["height"]) == ("x.png", 10, 8)
    assert [d["score"] for d in out["detections"]] == [0.9, 0.5]
    assert [(d["label"], d["class"]) for d in out["detections"]] == [(4, "4"), (1, "dog")]
    assert out["detections"][1]["box"] == [2.0, 1.0, 5.0, 3.0]
    for det, k in zip(out["detections"], (2, 0)):
        rle = dict(det["mask"], counts=det["mask"]["counts"].encode())
        assert np.array_equal(mask_utils.decode(rle).astype(bool), masks[k].numpy())
    assert len(detections_json(sample, ["cat", "dog"], 0.0, 1, "x.png")["detections"]) == 1


def test_batcher_groups_concurrent_images_and_reports_failures():
    seen = []

    def run(images):
        seen.append(len(images))
        if any(img[0, 0, 0] == 99 for img in images):
            raise RuntimeError("bad batch")
        return [int(img[0, 0, 0]) for img in images]

    async def scenario():
        metrics = Metrics()
        batcher = Batcher(run, max_batch_size=2, max_wait_ms=50, metrics=metrics)
        batcher.start()
        futures = batcher.submit([np.full((2, 2, 3), i, np.uint8) for i in range(5)])
        values = await asyncio.gather(*futures)
        failing = batcher.submit([np.full((2, 2, 3), 99, np.uint8)])
        with pytest.raises(RuntimeError, match="bad batch"):
            await failing[0]
        after = await asyncio.gather(*batcher.submit([np.full((2, 2, 3), 7, np.uint8)]))
        await batcher.stop()
        return values, after, metrics

    values, after, metrics = asyncio.run(scenario())
    assert values == [0, 1, 2, 3, 4] and after == [7]
    assert seen == [2, 2, 1, 1, 1]
    assert "mmcascade_batch_size_count 5" in metrics.render() and "mmcascade_images_total 7" in metrics.render()


def test_app_refusals_in_process(tmp_path):
    """The application's own refusals, without a server process: file count, file size, field
    name, option value; each a JSON reason."""
    from fastapi.testclient import TestClient
    from mmengine.config import Config

    from mmcascade.registry import MODELS
    from mmcascade.serving import ServeSettings, create_app

    from helpers import tiny_model_cfg

    model = MODELS.build(tiny_model_cfg())
    model.cfg = Config(dict(test_dataloader=dict(dataset=dict(pipeline=[]))))
    app = create_app(model.eval(), ServeSettings(max_images=2, max_bytes=3000), dict(config="tiny"))
    png = _png()
    big = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (60, 60, 3), dtype=np.uint8))[1].tobytes()
    cases = [
        (dict(files=[("file", ("a.png", png, "image/png"))] * 3), 400, "Too many files"),
        (dict(files=[("file", ("a.png", big, "image/png"))]), 413, "more than the limit of 3000 bytes"),
        (dict(files=[("image", ("a.png", png, "image/png"))]), 422, "unknown file field 'image'"),
        (dict(files=[("file", ("a.png", png, "image/png"))], data={"score_thr": "abc"}), 422, "bad option value"),
        (dict(content=big), 413, "body of more than 3000 bytes"),
    ]
    with TestClient(app) as client:
        for kwargs, status, reason in cases:
            response = client.post("/predict", **kwargs)
            assert response.status_code == status and reason in response.json()["error"], response.text
        assert client.get("/model").json()["config"] == "tiny"
        assert client.get("/no/such/path/42").status_code == 404
        text = client.get("/metrics").text
        assert 'path="other",status="404"' in text and "/no/such" not in text


def test_serve_without_the_serve_extra_says_what_to_install(tmp_path):
    """With fastapi missing, ``mmcascade serve`` names the extra instead of a traceback."""
    import os
    import subprocess
    import sys

    from helpers import REPO

    fake = tmp_path / "fastapi"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named fastapi')\n")
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    proc = subprocess.run(
        [sys.executable, "-m", "mmcascade", "serve", "cfg.py", "ckpt.pth"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0 and "pip install 'mmcascade[serve]'" in proc.stderr, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
