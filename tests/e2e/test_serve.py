"""``mmcascade serve`` as a user runs it: the command on 127.0.0.1 with the session's trained tiny
model; answers equal ``inference_detector``'s, concurrent requests are batched, bad requests get a
4xx with a reason and the server keeps serving, the page is there."""

import sys
from concurrent.futures import ThreadPoolExecutor

import cv2
import httpx
import numpy as np
import pytest

from helpers.e2e import free_port, start_server

pytestmark = pytest.mark.e2e


def _scene(seed: int) -> np.ndarray:
    """A 256x320 BGR image with a few filled shapes, like the embedded dataset's."""
    rng = np.random.default_rng(seed)
    img = np.full((256, 320, 3), 90, np.uint8)
    for _ in range(4):
        x, y = int(rng.integers(20, 260)), int(rng.integers(20, 200))
        color = tuple(int(c) for c in rng.integers(120, 255, 3))
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + 40, y + 30), color, -1)
        else:
            cv2.ellipse(img, (x + 20, y + 15), (22, 14), 0, 0, 360, color, -1)
    return img


@pytest.fixture(scope="module")
def server(trained_tiny):
    port = free_port()
    cmd = [sys.executable, "-m", "mmcascade", "serve", trained_tiny["cfg"], str(trained_tiny["ckpt"])]
    cmd += ["--port", str(port), "--max-pixels", "200000", "--max-batch-size", "4", "--max-wait-ms", "200"]
    proc, url = start_server(cmd, port)
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def _post(url: str, images: list[np.ndarray], **params) -> httpx.Response:
    files = [
        ("file", (f"{i}.png", cv2.imencode(".png", img)[1].tobytes(), "image/png")) for i, img in enumerate(images)
    ]
    return httpx.post(url + "/predict", files=files, params=params, timeout=120)


def test_answers_equal_inference_detector(server, trained_tiny):
    from mmcascade.apis import inference_detector, init_detector

    img = _scene(0)
    answer = _post(server, [img], score_thr=0.0).json()["results"][0]
    model = init_detector(trained_tiny["cfg"], str(trained_tiny["ckpt"]), device="cpu")
    expected = inference_detector(model, img).pred_instances
    order = np.argsort(-expected.scores.numpy(), kind="stable")[:100]
    got = answer["detections"]
    assert (answer["width"], answer["height"]) == (320, 256) and len(got) == len(order) > 0
    assert [d["label"] for d in got] == expected.labels.numpy()[order].tolist()
    assert np.allclose([d["box"] for d in got], expected.bboxes.numpy()[order], atol=1e-3)
    assert np.allclose([d["score"] for d in got], expected.scores.numpy()[order], atol=1e-5)
    assert all("mask" in d and d["mask"]["size"] == [256, 320] for d in got)
    info = httpx.get(server + "/model").json()
    assert info["backend"] == "pytorch" and len(info["classes"]) == 5 and len(info["sha256"]) == 64


def test_concurrent_requests_are_batched_with_the_same_answers(server):
    images = [_scene(s) for s in range(1, 5)]
    alone = [_post(server, [img], score_thr=0.3).json()["results"][0]["detections"] for img in images]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda img: _post(server, [img], score_thr=0.3), images))
    assert all(r.status_code == 200 for r in together)
    for single, response in zip(alone, together):
        batched = response.json()["results"][0]["detections"]
        assert [d["label"] for d in batched] == [d["label"] for d in single]
        assert np.allclose([d["box"] for d in batched], [d["box"] for d in single], atol=1e-2)
    text = httpx.get(server + "/metrics").text
    sizes = {line.split('"')[1]: float(line.split()[-1]) for line in text.splitlines() if "batch_size_bucket" in line}
    assert sizes["+Inf"] > sizes["1"], text  # some forward pass ran more than one image


def test_bad_requests_get_a_reason_and_the_server_goes_on(server):
    cases = [
        (dict(content=b"this is not an image"), 400, "not an image file"),
        (dict(content=cv2.imencode(".png", np.zeros((500, 500, 3), np.uint8))[1].tobytes()), 413, "500x500 pixels"),
        (dict(content=cv2.imencode(".png", _scene(0))[1].tobytes()[:300]), 400, "truncated"),
        (dict(content=cv2.imencode(".png", _scene(0))[1].tobytes(), params=dict(nms=0.3)), 422, "unknown option 'nms'"),
        (dict(content=b""), 400, "no image"),
    ]
    for kwargs, status, reason in cases:
        response = httpx.post(server + "/predict", timeout=60, **kwargs)
        assert response.status_code == status and reason in response.json()["error"], response.text
    assert httpx.get(server + "/health").json() == {"status": "ok"}
    ok = httpx.post(server + "/predict", content=cv2.imencode(".jpg", _scene(3))[1].tobytes(), timeout=60)
    assert ok.status_code == 200 and ok.json()["results"][0]["name"] == "body"


def test_sliced_request_and_page(server):
    answer = _post(server, [_scene(5)], slice="128x160", score_thr=0.3)
    assert answer.status_code == 200 and answer.json()["results"][0]["width"] == 320
    page = httpx.get(server + "/")
    assert page.status_code == 200 and 'id="canvas"' in page.text and "/predict" in page.text


def _browser():
    """Headless Chromium driven by Selenium (Debian's chromium and chromium-driver packages)."""
    import shutil

    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver_path, browser_path = shutil.which("chromedriver"), shutil.which("chromium")
    if not (driver_path and browser_path):
        pytest.skip("the page test needs Chromium: apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver_path), options=options)


def test_page_in_a_browser(server, tmp_path):
    """The page in a real browser: choose an image, the detections are drawn on it (as many as the
    API gives above the slider's score); the slider hides them; a bad file shows the error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    img = _scene(2)
    image_file, bad_file = tmp_path / "scene.png", tmp_path / "notes.png"
    cv2.imwrite(str(image_file), img)
    bad_file.write_bytes(b"this is not an image")
    expected = _post(server, [img], score_thr=0.0).json()["results"][0]["detections"]
    browser = _browser()
    try:
        browser.get(server + "/")
        wait = WebDriverWait(browser, 60)
        wait.until(lambda b: b.find_element(By.ID, "classes").text != "loading...")
        assert browser.find_element(By.ID, "classes").text == "rectangle, ellipse, triangle, star, ring"
        slider, chooser = browser.find_element(By.ID, "score"), browser.find_element(By.ID, "file")
        slide = "arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))"
        browser.execute_script(slide, slider, 0)  # the tiny model's scores are low: show them all
        browser.execute_script("arguments[0].style.display = 'block'", chooser)
        chooser.send_keys(str(image_file))
        canvas = browser.find_element(By.ID, "canvas")
        wait.until(lambda b: canvas.get_attribute("data-drawn") not in (None, ""))
        assert int(canvas.get_attribute("data-drawn")) == len(expected) > 0
        assert (canvas.get_attribute("width"), canvas.get_attribute("height")) == ("320", "256")
        # the middle of the first box's left edge is drawn over: no longer the image's pixel
        x1, y1, _, y2 = expected[0]["box"]
        x, y = int(x1), int((y1 + y2) / 2)
        pixel = browser.execute_script(
            "return Array.from(arguments[0].getContext('2d').getImageData(arguments[1], arguments[2], 1, 1).data)",
            canvas,
            x,
            y,
        )
        assert pixel[:3] != img[y, x, ::-1].tolist() and pixel[3] == 255, (pixel, img[y, x])
        browser.execute_script(slide, slider, 1)
        assert canvas.get_attribute("data-drawn") == "0"
        chooser.send_keys(str(bad_file))
        wait.until(lambda b: b.find_element(By.ID, "error").text != "")
        assert "not an image file" in browser.find_element(By.ID, "error").text
    finally:
        browser.quit()
