"""DetTTAModel: views are unflipped into the original image and merged by NMS."""

import torch
from mmengine.structures import InstanceData

from mmcascade.models.test_time_aug import DetTTAModel, unflip
from mmcascade.structures import DetDataSample

from helpers.models import build_tiny


def view(flip: bool, boxes, scores, labels) -> DetDataSample:
    s = DetDataSample(
        metainfo=dict(img_id=1, ori_shape=(50, 100), flip=flip, flip_direction="horizontal" if flip else None)
    )
    masks = torch.zeros((len(boxes), 50, 100), dtype=torch.bool)
    masks[:, :, :10] = True
    s.pred_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32),
        scores=torch.tensor(scores),
        labels=torch.tensor(labels),
        masks=masks,
    )
    return s


def test_unflip_boxes_and_masks():
    pred = view(True, [[10.0, 5.0, 30.0, 25.0]], [0.9], [1]).pred_instances
    back = unflip(pred, dict(flip=True, flip_direction="horizontal", ori_shape=(50, 100)))
    assert back.bboxes.tolist() == [[70.0, 5.0, 90.0, 25.0]]
    assert back.masks[0, :, 90:].all() and not back.masks[0, :, :90].any()


def test_views_merge_by_nms():
    tta = DetTTAModel(module=build_tiny())
    plain = view(False, [[70.0, 5.0, 90.0, 25.0], [0.0, 0.0, 5.0, 5.0]], [0.8, 0.3], [1, 0])
    flipped = view(True, [[10.0, 5.0, 30.0, 25.0]], [0.9], [1])  # the same object seen mirrored
    merged = tta.merge_preds([[plain, flipped]])[0]
    pred = merged.pred_instances
    assert pred.scores.tolist() == [0.8999999761581421, 0.30000001192092896]
    assert pred.bboxes[0].tolist() == [70.0, 5.0, 90.0, 25.0]
    assert "flip" not in merged.metainfo
