"""What the dense heads share: MMDetection's ``loss`` / ``predict`` / ``loss_and_predict`` calls
on top of each head's ``forward``, ``loss_by_feat`` and ``predict_by_feat``."""

import torch
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.structures import SampleList, unpack_gt_instances


def larger_than(boxes: Tensor, min_size: float) -> Tensor:
    """``(N,)`` bool: boxes ``(N, 4)`` xyxy wider and taller than ``min_size`` pixels (all of them
    when ``min_size`` is negative: the check is off)."""
    if min_size < 0:
        return boxes.new_ones(boxes.shape[0], dtype=torch.bool)
    return ((boxes[:, 2] - boxes[:, 0]) > min_size) & ((boxes[:, 3] - boxes[:, 1]) > min_size)


class BaseDenseHead(BaseModule):
    """A dense head's ``forward(feats)`` returns per-level output lists; ``loss_by_feat(*outs,
    batch_gt_instances, batch_img_metas, batch_gt_instances_ignore)`` and
    ``predict_by_feat(*outs, batch_img_metas=..., cfg=..., rescale=...)`` read them."""

    def loss_and_predict(
        self, x: tuple[Tensor, ...], batch_data_samples: SampleList, proposal_cfg: dict | None = None
    ) -> tuple[dict[str, Tensor], list[InstanceData]]:
        """Losses and the (detached) proposals the RoI head trains on (``proposal_cfg``: the
        training-time proposal settings; default ``test_cfg``)."""
        outs = self(x)
        gts, ignored, metas = unpack_gt_instances(batch_data_samples)
        losses = self.loss_by_feat(*outs, gts, metas, ignored)
        return losses, self.predict_by_feat(*outs, batch_img_metas=metas, cfg=proposal_cfg)

    def loss(self, x: tuple[Tensor, ...], batch_data_samples: SampleList) -> dict[str, Tensor]:
        gts, ignored, metas = unpack_gt_instances(batch_data_samples)
        return self.loss_by_feat(*self(x), gts, metas, ignored)

    def predict(
        self, x: tuple[Tensor, ...], batch_data_samples: SampleList, rescale: bool = False
    ) -> list[InstanceData]:
        """Per image the head's boxes (proposals), in the original image with ``rescale``."""
        metas = [s.metainfo for s in batch_data_samples]
        return self.predict_by_feat(*self(x), batch_img_metas=metas, rescale=rescale)

    def loss_by_feat(self, *args, **kwargs) -> dict[str, Tensor]:
        raise NotImplementedError

    def predict_by_feat(self, *args, **kwargs) -> list[InstanceData]:
        raise NotImplementedError
