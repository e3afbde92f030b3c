"""Test-time augmentation: run the detector on several scales and flips, merge by NMS."""

import torch
from mmengine.model import BaseTTAModel
from mmengine.structures import InstanceData

from mmcascade.ops import batched_nms
from mmcascade.ops.nms import check_nms_cfg
from mmcascade.registry import MODELS
from mmcascade.structures import CroppedMasks, DetDataSample, flip_boxes
from mmcascade.utils.options import check_block_keys


def unflip(pred: InstanceData, meta: dict) -> InstanceData:
    """Map the predictions of a flipped view back to the original image (new object)."""
    if not meta.get("flip", False):
        return pred
    direction = meta.get("flip_direction") or "horizontal"
    out = InstanceData(
        scores=pred.scores, labels=pred.labels, bboxes=flip_boxes(pred.bboxes, meta["ori_shape"], direction)
    )
    if "masks" in pred:
        if isinstance(pred.masks, CroppedMasks):
            out.masks = pred.masks.flip(direction)
        else:
            out.masks = torch.flip(pred.masks, dims=[-1 if direction == "horizontal" else -2])
    return out


@MODELS.register_module()
class DetTTAModel(BaseTTAModel):
    """Merge the views' detections (boxes in the original image) with class-wise NMS.

    Args:
        module: the detector config.
        tta_cfg: ``dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)``.
    """

    def __init__(self, tta_cfg: dict | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tta_cfg = tta_cfg or dict(nms=dict(type="nms", iou_threshold=0.5), max_per_img=100)
        check_block_keys("DetTTAModel tta_cfg", self.tta_cfg, ("nms", "max_per_img"))
        check_nms_cfg("DetTTAModel tta_cfg", self.tta_cfg.get("nms"))

    def merge_preds(self, data_samples_list: list[list[DetDataSample]]) -> list[DetDataSample]:
        return [self._merge_views(views) for views in data_samples_list]

    def _merge_views(self, views: list[DetDataSample]) -> DetDataSample:
        preds = [unflip(v.pred_instances, v.metainfo) for v in views]
        merged = InstanceData.cat(preds)
        result = DetDataSample(
            metainfo={k: v for k, v in views[0].metainfo.items() if k not in ("flip", "flip_direction")}
        )
        if len(merged) > 0:
            _, keep = batched_nms(merged.bboxes, merged.scores, merged.labels, self.tta_cfg["nms"])
            merged = merged[keep[: self.tta_cfg.get("max_per_img", 100)]]
        result.pred_instances = merged
        return result
