"""``HorizontalBoxes`` and the box-type registry, pinned to MMDetection 3.3.0's values: each
method on the same boxes, image and arguments (measured with ``mmdet.structures.bbox``)."""

import copy

import numpy as np
import pytest
import torch

from mmcascade.structures import BitmapMasks
from mmcascade.structures.bbox import (
    BaseBoxes,
    HorizontalBoxes,
    bbox2roi,
    box_converters,
    box_types,
    cat_boxes,
    convert_box_type,
    empty_box_as,
    get_box_tensor,
    get_box_type,
    get_box_wh,
    register_box,
    register_box_converter,
    scale_boxes,
)
from mmcascade.structures.bbox import box_type as registry

BOXES = [[10.0, 20.0, 50.0, 80.0], [-5.0, 3.0, 30.0, 120.0], [90.0, 10.0, 130.0, 40.0]]
IMG = (100, 120)  # (height, width)
HOMOGRAPHY = np.array([[1.1, 0.1, 3], [0.05, 0.9, -2], [0.001, 0.0005, 1]], dtype=np.float32)
POINTS = [[20.0, 30.0], [100.0, 20.0], [0.0, 0.0], [50.0, 80.0]]
# MMDetection 3.3.0 on BOXES (float32)
MMDET = {
    "flip_horizontal": [[70.0, 20.0, 110.0, 80.0], [90.0, 3.0, 125.0, 120.0], [-10.0, 10.0, 30.0, 40.0]],
    "flip_vertical": [[10.0, 20.0, 50.0, 80.0], [-5.0, -20.0, 30.0, 97.0], [90.0, 60.0, 130.0, 90.0]],
    "flip_diagonal": [[70.0, 20.0, 110.0, 80.0], [90.0, -20.0, 125.0, 97.0], [-10.0, 60.0, 30.0, 90.0]],
    "translate": [[13.5, 18.0, 53.5, 78.0], [-1.5, 1.0, 33.5, 118.0], [93.5, 8.0, 133.5, 38.0]],
    "clip": [[10.0, 20.0, 50.0, 80.0], [0.0, 3.0, 30.0, 100.0], [90.0, 10.0, 120.0, 40.0]],
    "rescale": [[5.0, 40.0, 25.0, 160.0], [-2.5, 6.0, 15.0, 240.0], [45.0, 20.0, 65.0, 80.0]],
    "resize": [[20.0, -10.0, 40.0, 110.0], [3.75, -55.5, 21.25, 178.5], [100.0, -5.0, 120.0, 55.0]],
    "rotate": [
        [1.6987285614013672, -0.9807624816894531, 66.3397445678711, 70.98075866699219],
        [-31.291648864746094, -23.20319366455078, 57.51923751831055, 95.62178039550781],
        [90.98075866699219, 30.358985900878906, 140.62176513671875, 76.3397445678711],
    ],
    "project": [
        [15.686274528503418, 16.176471710205078, 60.55045700073242, 67.14286041259766],
        [-2.2077267169952393, 0.45158034563064575, 44.03669738769531, 100.23696899414062],
        [94.06392669677734, 10.502283096313477, 130.43478393554688, 35.21739196777344],
    ],
    "areas": [2400.0, 4095.0, 1200.0],
    "widths": [40.0, 35.0, 40.0],
    "heights": [60.0, 117.0, 30.0],
    "centers": [[30.0, 50.0], [12.5, 61.5], [110.0, 25.0]],
    "is_inside": [True, True, True],
    "is_inside_all": [True, False, False],
    "is_inside_b": [True, False, False],
    "find_inside_points": [[True, True, False], [False, False, True], [False, False, False], [True, False, False]],
    "cxcywh": [[30.0, 50.0, 40.0, 60.0], [12.5, 61.5, 35.0, 117.0], [110.0, 25.0, 40.0, 30.0]],
    "in_mode": [[25.0, 40.0, 35.0, 60.0]],
    "overlaps": [[0.7837235331535339, 0.2697947323322296], [0.1863013654947281, 0.803170382976532], [0.0, 0.0]],
    "from_masks": [[3.0, 2.0, 9.0, 5.0], [20.0, 10.0, 29.0, 18.0]],
    "corner2hbox": [[10.0, 20.0, 50.0, 80.0], [-5.0, 3.0, 30.0, 120.0], [90.0, 10.0, 130.0, 40.0]],
    "scale_boxes_h": [[20.0, 10.0, 100.0, 40.0], [-10.0, 1.5, 60.0, 60.0], [180.0, 5.0, 260.0, 20.0]],
    "get_box_wh": [[40.0, 35.0, 40.0], [60.0, 117.0, 30.0]],
}


def boxes() -> HorizontalBoxes:
    return HorizontalBoxes(torch.tensor(BOXES))


def _after(method: str, *args) -> list:
    b = boxes()
    assert getattr(b, method)(*args) is None  # in place, as MMDetection's
    return b.tensor.tolist()


@pytest.mark.parametrize("direction", ["horizontal", "vertical", "diagonal"])
def test_flip_matches_mmdetection(direction):
    assert _after("flip_", IMG, direction) == MMDET[f"flip_{direction}"]


def test_in_place_geometry_matches_mmdetection():
    assert _after("translate_", [3.5, -2]) == MMDET["translate"]
    assert _after("clip_", IMG) == MMDET["clip"]
    assert _after("rescale_", [0.5, 2.0]) == MMDET["rescale"]
    assert _after("resize_", [0.5, 2.0]) == MMDET["resize"]
    np.testing.assert_allclose(_after("rotate_", (60, 50), 30), MMDET["rotate"], rtol=1e-6)
    np.testing.assert_allclose(_after("project_", HOMOGRAPHY), MMDET["project"], rtol=1e-6)


def test_measures_and_layouts_match_mmdetection():
    b = boxes()
    for name in ("areas", "widths", "heights", "centers"):
        assert getattr(b, name).tolist() == MMDET[name], name
    assert HorizontalBoxes.xyxy_to_cxcywh(b.tensor).tolist() == MMDET["cxcywh"]
    assert b.cxcywh.tolist() == MMDET["cxcywh"]
    assert (
        HorizontalBoxes(torch.tensor([[30.0, 50.0, 10.0, 20.0]]), in_mode="cxcywh").tensor.tolist() == MMDET["in_mode"]
    )
    corners = HorizontalBoxes.hbox2corner(b.tensor)
    assert corners[0].tolist() == [[10, 20], [50, 20], [10, 80], [50, 80]]
    moved = corners + torch.tensor([[[1.0, 0], [0, 2], [0, 0], [-1, 0]]])
    assert HorizontalBoxes.corner2hbox(moved).tolist() == MMDET["corner2hbox"]
    assert [t.tolist() for t in get_box_wh(b)] == MMDET["get_box_wh"]


def test_inside_tests_match_mmdetection():
    b = boxes()
    assert b.is_inside(IMG).tolist() == MMDET["is_inside"]
    assert b.is_inside(IMG, all_inside=True).tolist() == MMDET["is_inside_all"]
    assert b.is_inside(IMG, all_inside=True, allowed_border=10).tolist() == MMDET["is_inside_b"]
    assert b.find_inside_points(torch.tensor(POINTS)).tolist() == MMDET["find_inside_points"]
    # both edges count as inside (MMDetection: the same)
    two = HorizontalBoxes(torch.tensor([[10.0, 20.0, 50.0, 80.0], [0.0, 0.0, 5.0, 5.0]]))
    assert two.find_inside_points(torch.tensor([[10.0, 20.0], [5.0, 5.0]]), is_aligned=True).tolist() == [True, True]


def test_overlaps_and_masks_match_mmdetection():
    b = boxes()
    shifted = HorizontalBoxes(torch.tensor(BOXES[:2]) + 3)
    np.testing.assert_allclose(HorizontalBoxes.overlaps(b, shifted), MMDET["overlaps"], rtol=1e-6)
    masks = np.zeros((2, 20, 30), np.uint8)
    masks[0, 2:5, 3:9] = 1
    masks[1, 10:18, 20:29] = 1
    assert HorizontalBoxes.from_instance_masks(BitmapMasks(masks, 20, 30)).tensor.tolist() == MMDET["from_masks"]
    made = HorizontalBoxes(torch.tensor([[2.3, 3.6, 8.2, 9.9]])).create_masks((12, 12))
    assert isinstance(made, BitmapMasks) and made.masks.shape == (1, 12, 12)
    expected = np.zeros((12, 12), np.uint8)
    expected[3:9, 2:8] = 1  # corners truncated to int, as MMDetection's
    assert (made.masks[0] == expected).all()


def test_container_behaves_as_mmdetections():
    b = boxes()
    assert len(b) == 3 and b.shape == (3, 4) and b.dtype == torch.float32
    assert b[torch.tensor([True, False, True])].tensor.tolist() == [BOXES[0], BOXES[2]]
    assert b[np.array([True, False, True])].tensor.tolist() == [BOXES[0], BOXES[2]]
    assert b[0].shape == (1, 4)  # one box stays (1, 4)
    assert HorizontalBoxes.cat([b, b[1:]]).tensor.tolist() == BOXES + BOXES[1:]
    assert HorizontalBoxes.stack([b, b]).shape == (2, 3, 4) and b.view(1, 3, 4).shape == (1, 3, 4)
    assert b.empty_boxes().shape == (0, 4) and b.fake_boxes((2, 4), fill=1).tensor.tolist() == [[1.0] * 4] * 2
    assert HorizontalBoxes(np.zeros((2, 4))).dtype == torch.float64
    assert HorizontalBoxes([[1, 2, 3, 4]]).dtype == torch.int64
    assert HorizontalBoxes(torch.arange(24.0).reshape(2, 3, 4)).areas.tolist() == [[4.0] * 3] * 2
    b[0] = HorizontalBoxes(torch.tensor([[1.0, 1, 2, 2]]))
    assert b.tensor[0].tolist() == [1, 1, 2, 2]
    with pytest.raises(TypeError, match="must be HorizontalBoxes"):
        b[1] = torch.tensor([7.0, 7, 8, 8])
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        HorizontalBoxes(torch.zeros(3, 5))
    copied = copy.deepcopy(b)
    copied.translate_((1, 1))
    assert b.tensor[0].tolist() == [1, 1, 2, 2]  # a deep copy owns its tensor
    data = torch.tensor(BOXES)
    HorizontalBoxes(data).clip_(IMG)
    assert data.tolist() == BOXES  # cloned by default: the caller's tensor is never written


def test_box_functions_take_tensors_and_box_objects():
    b = boxes()
    t = torch.tensor(BOXES)
    assert get_box_tensor(b) is b.tensor and get_box_tensor(t) is t
    assert isinstance(empty_box_as(b), HorizontalBoxes) and empty_box_as(t).shape == (0, 4)
    assert cat_boxes([t[:1], t[2:]]).tolist() == [BOXES[0], BOXES[2]]
    assert cat_boxes([b[:1], b[2:]]).tensor.tolist() == [BOXES[0], BOXES[2]]
    assert scale_boxes(boxes(), (2.0, 0.5)).tensor.tolist() == MMDET["scale_boxes_h"]
    assert scale_boxes(t.clone(), (2.0, 0.5)).tolist() == MMDET["scale_boxes_h"]
    assert bbox2roi([b, b[:1]]).tolist() == [[0.0] + x for x in BOXES] + [[1.0] + BOXES[0]]


def test_box_type_registry():
    assert get_box_type("hbox") == ("hbox", HorizontalBoxes) == get_box_type("HBOX")
    assert get_box_type(HorizontalBoxes) == ("hbox", HorizontalBoxes)
    with pytest.raises(KeyError, match="not registered"):
        get_box_type("rbox")
    b = boxes()
    assert convert_box_type(b, dst_type="hbox") is b
    assert isinstance(convert_box_type(torch.tensor(BOXES), src_type="hbox", dst_type="hbox"), torch.Tensor)

    @register_box("cxbox")
    class CenterBoxes(HorizontalBoxes):  # a user's own type: its converters are used by name
        pass

    try:
        register_box_converter("hbox", "cxbox", HorizontalBoxes.xyxy_to_cxcywh)
        converted = b.convert_to("cxbox")
        assert isinstance(converted, CenterBoxes) and converted.tensor.tolist() == MMDET["cxcywh"]
        arr = convert_box_type(np.array(BOXES, np.float32), src_type="hbox", dst_type="cxbox")
        assert isinstance(arr, np.ndarray) and arr.tolist() == MMDET["cxcywh"]
        with pytest.raises(KeyError, match="already registered"):
            register_box("cxbox", CenterBoxes)
    finally:
        box_types.pop("cxbox")
        box_converters.pop("hbox2cxbox")
        registry._names_by_class.pop(CenterBoxes)
    assert issubclass(HorizontalBoxes, BaseBoxes)
