"""``DetLocalVisualizer`` with MMDetection's arguments and defaults: what is drawn for each
instance (box colour, label text, text colour and size, its position, mask colour, opacity, line
width) is what MMDetection 3.3.0's visualiser draws for the same instances, recorded from its
drawing calls with the same numpy seed (mask colours are jittered at random, as there)."""

import inspect

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from mmcascade.visualization import DetLocalVisualizer
from mmcascade.visualization import local_visualizer as module

META = dict(classes=("person", "bicycle", "car"), palette=[(220, 20, 60), (119, 11, 32), (0, 0, 142)])
BOXES = [[5.0, 5.0, 40.0, 50.0], [30.0, 10.0, 75.0, 30.0]]
BLACK = dict(facecolor="black", alpha=0.8, pad=0.7, edgecolor="none")
# MMDetection 3.3.0: (box colours, text colours, mask colours after jitter with np.random.seed(0))
MMDET = {
    "default": ([[220, 20, 60], [0, 0, 142]], [[200, 200, 200]] * 2, [[220, 40, 67], [9, 0, 165]]),
    "colors": ([[255, 0, 0]] * 2, [[0, 255, 0]] * 2, [[10, 40, 37], [19, 13, 53]]),
    "random": ([[102, 179, 92], [188, 20, 102]], [[200, 200, 200]] * 2, [[220, 40, 67], [9, 0, 165]]),
}
OPTIONS = {
    "default": {},
    "colors": dict(bbox_color="red", text_color=(0, 255, 0), mask_color=(10, 20, 30)),
    "random": dict(bbox_color="random"),
}


def _instances() -> InstanceData:
    masks = torch.zeros(2, 60, 80, dtype=torch.bool)
    masks[0, 10:40, 10:30] = True
    masks[1, 12:28, 35:70] = True
    return InstanceData(
        bboxes=torch.tensor(BOXES), labels=torch.tensor([0, 2]), scores=torch.tensor([0.953, 0.4]), masks=masks
    )


def test_signature_and_defaults_are_mmdetections():
    params = inspect.signature(DetLocalVisualizer.__init__).parameters
    assert list(params)[1:] == [
        "name", "image", "vis_backends", "save_dir", "bbox_color", "text_color", "mask_color", "line_width", "alpha",
    ]  # fmt: skip
    defaults = {k: p.default for k, p in params.items() if k != "self"}
    assert defaults["text_color"] == (200, 200, 200) and defaults["line_width"] == 3 and defaults["alpha"] == 0.8
    assert defaults["bbox_color"] is None and defaults["mask_color"] is None


@pytest.mark.parametrize("option", sorted(MMDET))
def test_what_is_drawn_matches_mmdetection(option, monkeypatch):
    vis = DetLocalVisualizer(name=f"mmdet_{option}", **OPTIONS[option])
    vis.dataset_meta = META
    calls = []
    monkeypatch.setattr(vis, "draw_bboxes", lambda b, **k: calls.append(("bboxes", np.asarray(b).tolist(), k)))
    monkeypatch.setattr(vis, "draw_texts", lambda t, p, **k: calls.append(("text", t, np.asarray(p).tolist(), k)))
    blend = module.blend_masks
    monkeypatch.setattr(module, "blend_masks", lambda i, m, c, a: calls.append(("masks", c, a)) or blend(i, m, c, a))
    np.random.seed(0)
    vis.draw_instances(np.zeros((60, 80, 3), np.uint8), _instances())
    box_colors, text_colors, mask_colors = MMDET[option]
    masks, boxes, *texts = calls
    assert masks == ("masks", [tuple(c) for c in mask_colors], 0.8)
    assert boxes[1] == BOXES
    assert [list(c) for c in boxes[2]["edge_colors"]] == box_colors
    assert boxes[2]["alpha"] == 0.8 and boxes[2]["line_widths"] == 3
    assert [t[1] for t in texts] == ["person: 95.3", "car: 40.0"]
    assert [t[2] for t in texts] == [[8.0, 8.0], [33.0, 13.0]]  # top-left corner + line width
    assert [list(t[3]["colors"]) for t in texts] == text_colors
    assert [t[3]["font_sizes"] for t in texts] == [6, 6]  # 13 x the adaptive scale (small boxes: 0.5)
    assert all(t[3]["bboxes"] == [BLACK] for t in texts)


def test_large_images_use_the_same_colours_and_labels(monkeypatch):
    vis = DetLocalVisualizer(name="mmdet_large", bbox_color="red", text_color=(0, 255, 0))
    vis.dataset_meta = META
    seen = []
    monkeypatch.setattr(module, "MATPLOTLIB_MAX_PIXELS", 100)
    monkeypatch.setattr(module, "draw_boxes_cv2", lambda img, b, t, c, tc: seen.append((t, c, tc)) or img)
    vis.draw_instances(np.zeros((60, 80, 3), np.uint8), _instances())
    assert seen == [(["person: 95.3", "car: 40.0"], [(255, 0, 0)] * 2, [(0, 255, 0)] * 2)]
