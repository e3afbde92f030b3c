"""Random but well-formed detection batches for benchmarks."""

import torch
from mmengine.structures import InstanceData

from mmcascade.structures import DetDataSample


def random_train_batch(model, batch: int, h: int, w: int, num_gts: int = 8, seed: int = 0) -> dict:
    """``batch`` random images with ``num_gts`` random boxes each, preprocessed by ``model``."""
    g = torch.Generator().manual_seed(seed)
    imgs, samples = [], []
    for _ in range(batch):
        imgs.append(torch.randint(0, 255, (3, h, w), dtype=torch.uint8, generator=g))
        xy = torch.rand(num_gts, 2, generator=g) * torch.tensor([w * 0.7, h * 0.7])
        wh = 32 + torch.rand(num_gts, 2, generator=g) * torch.tensor([w * 0.3, h * 0.3])
        s = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0)))
        s.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1), labels=torch.randint(0, 80, (num_gts,), generator=g)
        )
        samples.append(s)
    return model.data_preprocessor(dict(inputs=imgs, data_samples=samples), True)
