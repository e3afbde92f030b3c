"""Pack a pipeline's results into ``inputs`` (CHW uint8 tensor) and a :class:`DetDataSample`."""

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import InstanceData

from mmcascade.registry import TRANSFORMS
from mmcascade.structures import DetDataSample
from mmcascade.structures.bbox import BaseBoxes, get_box_tensor

DEFAULT_META_KEYS = ("img_id", "img_path", "ori_shape", "img_shape", "scale_factor", "flip", "flip_direction")


@TRANSFORMS.register_module()
class PackDetInputs(BaseTransform):
    """Split the ground truth into ``gt_instances`` (not ignored) and ``ignored_instances`` (crowd).
    Boxes become ``(N, 4)`` float32 tensors whatever their container in the pipeline; loaded
    proposals (``LoadProposals``) become ``proposals`` (``bboxes``, ``scores``).

    Args:
        meta_keys: results keys copied into the sample's metainfo.
    """

    def __init__(self, meta_keys: tuple[str, ...] = DEFAULT_META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = results["img"]
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        sample = DetDataSample()
        if "gt_bboxes" in results:
            ignore = results.get("gt_ignore_flags", np.zeros(len(results["gt_bboxes"]), dtype=bool))
            sample.gt_instances = self._instances(results, ~ignore)
            sample.ignored_instances = self._instances(results, ignore)
        if "proposals" in results:
            boxes = torch.as_tensor(np.asarray(results["proposals"], dtype=np.float32)).reshape(-1, 4)
            scores = results.get("proposals_scores", np.zeros(len(boxes), np.float32))
            sample.proposals = InstanceData(bboxes=boxes, scores=torch.as_tensor(np.asarray(scores, np.float32)))
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta.setdefault("flip", False)
        meta.setdefault("flip_direction", None)
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    @staticmethod
    def _instances(results: dict, keep: np.ndarray) -> InstanceData:
        inst = InstanceData()
        boxes = results["gt_bboxes"][np.flatnonzero(keep)]
        # the model works on plain tensors: a box object hands over its tensor
        boxes = get_box_tensor(boxes) if isinstance(boxes, BaseBoxes) else torch.from_numpy(np.asarray(boxes))
        inst.bboxes = boxes.float().reshape(-1, 4)
        if "gt_bboxes_labels" in results:
            inst.labels = torch.from_numpy(results["gt_bboxes_labels"][keep]).long()
        if "gt_masks" in results:
            inst.masks = results["gt_masks"][np.nonzero(keep)[0]]
        return inst

    def __repr__(self) -> str:
        return f"{type(self).__name__}(meta_keys={self.meta_keys})"
