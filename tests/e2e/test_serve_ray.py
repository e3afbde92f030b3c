"""``mmcascade serve --ray`` on a local Ray instance (127.0.0.1): two replicas of the same server
answer as ``inference_detector`` does, refuse bad requests alike, and stop cleanly on SIGTERM."""

import subprocess
import sys

import cv2
import httpx
import numpy as np
import pytest

from helpers.e2e import free_port, start_server

pytestmark = pytest.mark.e2e


def _image() -> np.ndarray:
    img = np.full((192, 256, 3), 90, np.uint8)
    cv2.rectangle(img, (30, 40), (110, 100), (60, 200, 240), -1)
    cv2.circle(img, (180, 120), 35, (220, 80, 40), -1)
    return img


def _ray_processes() -> list[str]:
    ps = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines() if "ray/core/src/ray" in line]


def test_two_replicas_on_a_local_ray(trained_tiny):
    from mmcascade.apis import inference_detector, init_detector

    before = _ray_processes()
    port = free_port()
    cmd = [sys.executable, "-m", "mmcascade", "serve", trained_tiny["cfg"], str(trained_tiny["ckpt"]), "--ray"]
    cmd += ["--replicas", "2", "--port", str(port), "--max-pixels", "100000"]
    proc, url = start_server(cmd, port, timeout=240)
    try:
        png = cv2.imencode(".png", _image())[1].tobytes()
        answers = [httpx.post(url + "/predict", content=png, params=dict(score_thr=0), timeout=120) for _ in range(4)]
        model = init_detector(trained_tiny["cfg"], str(trained_tiny["ckpt"]), device="cpu")
        pred = inference_detector(model, _image()).pred_instances
        order = np.argsort(-pred.scores.numpy(), kind="stable")[:100]
        expected = np.column_stack([pred.labels.numpy()[order], pred.scores.numpy()[order], pred.bboxes.numpy()[order]])
        for answer in answers:  # as a set: detections of equal score may come in either order
            got = np.array([[d["label"], d["score"], *d["box"]] for d in answer.json()["results"][0]["detections"]])
            assert got.shape == expected.shape
            distance = np.abs(got[:, None, :] - expected[None, :, :]).max(-1)  # label, score and box
            assert sorted(distance.argmin(1).tolist()) == list(range(len(expected)))  # one to one
            assert distance.min(1).max() < 1e-3
        info = httpx.get(url + "/model").json()
        assert info["backend"] == "pytorch" and info["settings"]["max_pixels"] == 100000
        big = cv2.imencode(".png", np.zeros((400, 400, 3), np.uint8))[1].tobytes()
        refused = httpx.post(url + "/predict", content=big, timeout=60)
        assert refused.status_code == 413 and "400x400 pixels" in refused.json()["error"]
    finally:
        proc.terminate()
        out = proc.communicate(timeout=60)[0]
    assert proc.returncode == 0, out[-3000:]
    assert _ray_processes() == before, "the local Ray instance outlived the server"
