"""Tiny inputs for model tests."""

import numpy as np
import torch
from mmengine.structures import InstanceData

from mmcascade.registry import MODELS
from mmcascade.structures import BitmapMasks, DetDataSample

from helpers import tiny_model_cfg


def build_tiny(base: str = "cascade-mask-rcnn_r50_fpn", **roi_overrides):
    cfg = tiny_model_cfg(base)
    cfg["roi_head"].update(roi_overrides)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def make_sample(
    h: int = 128, w: int = 160, boxes=((10, 12, 60, 50), (70, 30, 150, 120)), labels=(0, 2), scale: float = 1.0
) -> DetDataSample:
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(h, w),
            ori_shape=(int(h / scale), int(w / scale)),
            scale_factor=(scale, scale),
            img_path=f"synthetic_{h}x{w}.png",
        )
    )
    b = torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    masks = np.zeros((len(b), h, w), np.uint8)
    for i, (x1, y1, x2, y2) in enumerate(b.int().tolist()):
        masks[i, y1:y2, x1:x2] = 1
    sample.gt_instances = InstanceData(
        bboxes=b, labels=torch.tensor(labels, dtype=torch.long), masks=BitmapMasks(masks, h, w)
    )
    return sample


def make_batch(model, n: int = 2, training: bool = True, **kw) -> dict:
    g = torch.Generator().manual_seed(123)
    samples = [make_sample(**kw) for _ in range(n)]
    h, w = samples[0].img_shape
    imgs = [torch.randint(0, 255, (3, h, w), dtype=torch.uint8, generator=g) for _ in range(n)]
    for img, s in zip(imgs, samples):  # draw the objects so there is something to learn
        for x1, y1, x2, y2 in s.gt_instances.bboxes.int().tolist():
            img[:, y1:y2, x1:x2] = 200
    return model.data_preprocessor(dict(inputs=imgs, data_samples=samples), training)
