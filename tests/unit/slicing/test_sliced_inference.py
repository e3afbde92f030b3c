"""Sliced inference: tile arithmetic, merging across tiles, and exactness against plain inference."""

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from mmcascade.apis import inference_detector, init_detector
from mmcascade.models.roi_heads.detections import CROPPED_MASKS_ABOVE
from mmcascade.slicing import Tile, inference_sliced, merge_instances, parse_slice_size, tile_grid, tile_starts
from mmcascade.slicing.merging import shift_instances
from mmcascade.structures import CroppedMasks, DetDataSample, bbox_overlaps

from helpers.e2e import MAIN_CFG


# ---------------------------------------------------------------------- tiles
@pytest.mark.parametrize(
    "size, tile, overlap, starts",
    [
        (1000, 512, 102, [0, 410, 488]),  # stride 410; the last tile moved back to end at 1000
        (1024, 512, 0, [0, 512]),  # exact fit: no extra tile
        (1025, 512, 0, [0, 512, 513]),  # one pixel more: a last tile ending at the border
        (512, 512, 100, [0]),
        (300, 512, 100, [0]),  # shorter than a tile: one tile, not padded
        (2000, 1000, 200, [0, 800, 1000]),
    ],
)
def test_tile_starts_by_hand(size, tile, overlap, starts):
    assert tile_starts(size, tile, overlap) == starts


def test_tile_grid_covers_the_image_row_by_row():
    tiles = tile_grid(700, 1000, (512, 400), 0.25)  # overlaps int(0.25 * 512) = 128 and 100 pixels
    ys, xs = sorted({t.y for t in tiles}), sorted({t.x for t in tiles})
    assert ys == [0, 188] and xs == [0, 300, 600]
    assert (
        tiles[0] == Tile(0, 0, 400, 512)
        and tiles[1] == Tile(300, 0, 400, 512)
        and tiles[-1] == Tile(600, 188, 400, 512)
    )
    covered = np.zeros((700, 1000), int)
    for t in tiles:
        covered[t.y : t.y + t.h, t.x : t.x + t.w] += 1
    assert covered.min() >= 1 and all(t.x + t.w <= 1000 and t.y + t.h <= 700 for t in tiles)
    assert tile_grid(300, 200, (512, 512), 0.2) == [Tile(0, 0, 200, 300)]
    with pytest.raises(ValueError, match="overlap"):
        tile_grid(700, 1000, (512, 512), 1.0)


def test_slice_size_is_written_width_by_height():
    assert parse_slice_size("1024") == (1024, 1024)
    assert parse_slice_size("1024x768") == (768, 1024)  # W x H on the command line -> (h, w)
    assert parse_slice_size(640) == (640, 640) and parse_slice_size((300, 500)) == (300, 500)
    for bad in ("big", "1x2x3", "16"):
        with pytest.raises(ValueError, match="slice size"):
            parse_slice_size(bad)


def test_overlap_metrics_by_hand():
    box = torch.tensor([0.0, 0.0, 10.0, 10.0])
    others = torch.tensor([[5.0, 0.0, 15.0, 10.0], [0.0, 0.0, 5.0, 5.0], [20.0, 20.0, 30.0, 30.0]])
    assert torch.allclose(bbox_overlaps(box[None], others, mode="iou")[0], torch.tensor([50 / 150, 25 / 100, 0.0]))
    assert torch.allclose(bbox_overlaps(box[None], others, mode="ios")[0], torch.tensor([0.5, 1.0, 0.0]))


# ---------------------------------------------------------------------- a detector of white blobs
class BlobDetector(BaseModel):
    """A stand-in detector with exactly known output: every white connected component of the
    image it is given is one detection (label 0, score from the blob's area), box and mask exact.
    Its data preprocessor is mmengine's plain one (the uint8 images as they are)."""

    with_mask = True

    def __init__(self) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(1))  # a device for run_test_pipeline
        self.cfg = Config(
            dict(
                test_dataloader=dict(
                    dataset=dict(pipeline=[dict(type="LoadImageFromFile"), dict(type="PackDetInputs")])
                )
            )
        )
        self.calls = 0

    def forward(self, inputs, data_samples=None, mode="predict"):
        return self.predict(inputs, data_samples)

    def predict(self, inputs, data_samples, mask_format=None):
        out = []
        for img, sample in zip(inputs, data_samples):
            self.calls += 1
            gray = img[0].numpy()
            n, labels, stats, _ = cv2.connectedComponentsWithStats((gray > 127).astype(np.uint8), connectivity=4)
            x, y, w, h, area = (stats[1:, i] for i in range(5))
            pred = InstanceData(
                bboxes=torch.tensor(np.stack([x, y, x + w, y + h], 1), dtype=torch.float32).reshape(-1, 4),
                scores=torch.tensor(area / (area.max(initial=1) + 1.0), dtype=torch.float32).reshape(-1),
                labels=torch.zeros(n - 1, dtype=torch.long),
                masks=torch.from_numpy(np.stack([labels == k for k in range(1, n)])).reshape(n - 1, *gray.shape),
            )
            result = DetDataSample(metainfo=sample.metainfo)
            result.pred_instances = pred
            out.append(result)
        return out


def blob_image(height, width, boxes):
    img = np.zeros((height, width, 3), np.uint8)
    for x1, y1, x2, y2 in boxes:
        img[y1:y2, x1:x2] = 255
    return img


def test_objects_cut_by_tile_edges_come_out_once():
    # tiles 100 wide with overlap 20 along x: starts 0, 80, 160 (widths 100), image 260 x 100
    objects = [(85, 10, 95, 30), (60, 40, 120, 60), (150, 70, 190, 90), (5, 5, 20, 20)]
    img = blob_image(100, 260, objects)
    model = BlobDetector()
    kwargs = dict(slice_size=(100, 100), overlap=0.2, full_image=False)
    # NMS: the blob inside the overlap is seen whole twice -> once; the long ones are cut into pieces
    nms = inference_sliced(model, img, merge="nms", merge_iou_thr=0.5, **kwargs).pred_instances
    assert model.calls == 3
    boxes = {tuple(b) for b in nms.bboxes.int().tolist()}
    assert (85, 10, 95, 30) in boxes and (5, 5, 20, 20) in boxes and (60, 40, 120, 60) not in boxes
    # greedy merging by intersection over the smaller box unites every cut object, masks too
    nmm = inference_sliced(model, img, merge="nmm", match_metric="ios", merge_iou_thr=0.3, **kwargs).pred_instances
    assert sorted(tuple(b) for b in nmm.bboxes.int().tolist()) == sorted(objects)
    assert isinstance(nmm.masks, CroppedMasks) and nmm.masks.shape == (4, 100, 260)
    full = nmm.masks.to_bitmaps().numpy()
    for box, mask in zip(nmm.bboxes.int().tolist(), full):
        assert (mask == (blob_image(100, 260, [box])[..., 0] > 0)).all()
    assert (nmm.scores[:-1] >= nmm.scores[1:]).all()


def test_full_image_view_and_max_per_img():
    img = blob_image(100, 260, [(85, 10, 95, 30), (150, 70, 190, 90)])
    model = BlobDetector()
    result = inference_sliced(model, img, slice_size=100, overlap=0.2, merge_iou_thr=0.5, progress=False)
    assert model.calls == 4  # three tiles and the whole image
    assert result.metainfo["num_tiles"] == 3 and result.ori_shape == (100, 260)
    assert len(result.pred_instances) == 2
    top = inference_sliced(BlobDetector(), img, slice_size=100, overlap=0.2, max_per_img=1).pred_instances
    assert len(top) == 1 and tuple(top.bboxes[0].int().tolist()) == (150, 70, 190, 90)  # the larger blob


def test_merge_refuses_unknown_options():
    inst = InstanceData(bboxes=torch.zeros((0, 4)), scores=torch.zeros(0), labels=torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="merge mode"):
        merge_instances(inst, 0.5, mode="wbf")
    with pytest.raises(ValueError, match="needs merge mode 'nmm'"):
        merge_instances(inst, 0.5, mode="nms", match_metric="ios")
    with pytest.raises(ValueError, match="merge mode"):
        inference_sliced(BlobDetector(), blob_image(50, 50, []), merge="vote")


def test_shift_moves_boxes_and_masks_into_the_full_frame():
    pred = InstanceData(
        bboxes=torch.tensor([[1.0, 2.0, 5.0, 6.0]]),
        scores=torch.tensor([0.9]),
        labels=torch.tensor([2]),
        masks=torch.from_numpy(blob_image(10, 10, [(1, 2, 5, 6)])[None, ..., 0] > 0),
    )
    moved = shift_instances(pred, Tile(100, 50, 10, 10), 200, 300)
    assert moved.bboxes.tolist() == [[101.0, 52.0, 105.0, 56.0]] and moved.labels.tolist() == [2]
    assert moved.masks.shape == (1, 200, 300) and moved.masks.origins.tolist() == [[101, 52]]
    assert moved.masks.areas.tolist() == [16]


# ---------------------------------------------------------------------- the real detector
@pytest.fixture(scope="module")
def random_model():
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="random weights"):
        return init_detector(MAIN_CFG, None, device="cpu")


@pytest.fixture(scope="module")
def shapes_image():
    rng = np.random.default_rng(0)
    return cv2.GaussianBlur((rng.random((192, 256, 3)) * 255).astype(np.uint8), (7, 7), 3)


def _sorted(inst):
    """By descending score, ties (the copies' equal scores) by label and position."""
    b = inst.bboxes.numpy()
    order = np.lexsort((b[:, 0], b[:, 1], inst.labels.numpy(), -inst.scores.numpy()))
    return inst[torch.from_numpy(order)]


def test_mosaic_of_copies_gives_each_copy_its_own_detections(random_model, shapes_image):
    """Tiles equal to the copies of a 2x2 mosaic, no overlap, merge IoU = the model's NMS IoU:
    the merged detections are exactly each copy's detections, shifted (boxes, scores, labels, masks)."""
    one = inference_detector(random_model, shapes_image).pred_instances
    assert len(one) > 10
    h, w = shapes_image.shape[:2]
    mosaic = np.tile(shapes_image, (2, 2, 1))
    nms_iou = random_model.roi_head.test_cfg.nms.iou_threshold
    result = inference_sliced(
        random_model, mosaic, (h, w), overlap=0.0, merge_iou_thr=nms_iou, full_image=False, batch_size=1
    )
    merged = result.pred_instances
    assert result.metainfo["num_tiles"] == 4 and len(merged) == 4 * len(one)
    expected = []
    for dy in (0, h):
        for dx in (0, w):
            expected.append(shift_instances(one, Tile(dx, dy, w, h), 2 * h, 2 * w))
    expected = _sorted(InstanceData.cat(expected))
    merged = _sorted(merged)
    assert torch.equal(merged.scores, expected.scores) and torch.equal(merged.labels, expected.labels)
    assert torch.equal(merged.bboxes, expected.bboxes)
    assert merged.masks.to_rle() == expected.masks.to_rle()
    # batches of tiles: the same detections up to float rounding of batched convolutions
    batched = _sorted(
        inference_sliced(
            random_model, mosaic, (h, w), overlap=0.0, merge_iou_thr=nms_iou, full_image=False
        ).pred_instances
    )
    assert len(batched) == len(expected) and torch.allclose(batched.scores, expected.scores, atol=1e-5)


def test_image_smaller_than_a_tile_is_plain_inference(random_model, shapes_image):
    plain = inference_detector(random_model, shapes_image).pred_instances
    sliced = inference_sliced(random_model, shapes_image, 512, overlap=0.2, full_image=True).pred_instances
    assert torch.equal(sliced.bboxes, plain.bboxes) and torch.equal(sliced.scores, plain.scores)
    assert torch.equal(sliced.labels, plain.labels)
    assert torch.equal(sliced.masks.to_bitmaps(), plain.masks)


def test_plain_inference_returns_cropped_masks_above_the_size_threshold(random_model, shapes_image):
    big = cv2.resize(shapes_image, (2304, 1840))  # 4.2 MP, just above the threshold
    assert big.shape[0] * big.shape[1] > CROPPED_MASKS_ABOVE
    cropped = inference_detector(random_model, big).pred_instances
    assert isinstance(cropped.masks, CroppedMasks) and cropped.masks.shape == (len(cropped), 1840, 2304)
    cfg = random_model.roi_head.test_cfg
    cfg["mask_format"] = "bitmap"
    try:
        dense = inference_detector(random_model, big).pred_instances
    finally:
        cfg["mask_format"] = "auto"
    assert torch.equal(cropped.bboxes, dense.bboxes) and torch.equal(cropped.masks.to_bitmaps(), dense.masks)
    small = inference_detector(random_model, shapes_image).pred_instances
    assert isinstance(small.masks, torch.Tensor)  # COCO-sized images keep bitmaps


def test_unknown_mask_format_is_refused():
    from mmcascade.registry import MODELS

    cfg = Config.fromfile(MAIN_CFG).model
    cfg.test_cfg.rcnn.mask_format = "polygons"
    with pytest.raises(ValueError, match="mask_format must be one of"):
        MODELS.build(cfg)
