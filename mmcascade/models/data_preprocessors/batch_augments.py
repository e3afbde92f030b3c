"""Augmentations of a whole preprocessed batch (``DetDataPreprocessor(batch_augments=[...])``,
applied in training only)."""

import torch.nn.functional as F
from torch import Tensor, nn

from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample


@MODELS.register_module()
class BatchFixedSizePad(nn.Module):
    """Pad the batch at the bottom and right to at least ``size = (h, w)`` (the large-scale-jitter
    configs' fixed 1024x1024 input), as MMDetection's ``BatchFixedSizePad``.

    Every sample's ``batch_input_shape`` and ``pad_shape`` become the padded batch's ``(h, w)``;
    with ``pad_mask`` the ground-truth masks are padded to it too. A batch already at least that
    large on both sides is left as it is.

    Args:
        size: ``(h, w)`` in pixels.
        img_pad_value: the padding of the (normalised) image.
        pad_mask, mask_pad_value: pad ``gt_instances.masks`` with this value.
        pad_seg, seg_pad_value: semantic maps (not used by these detectors: refused when True).
    """

    def __init__(
        self,
        size: tuple[int, int],
        img_pad_value: int = 0,
        pad_mask: bool = False,
        mask_pad_value: int = 0,
        pad_seg: bool = False,
        seg_pad_value: int = 255,
    ) -> None:
        super().__init__()
        if pad_seg:
            raise ValueError("BatchFixedSizePad: pad_seg=True needs semantic maps, which these detectors do not use")
        self.size = (int(size[0]), int(size[1]))
        self.img_pad_value = img_pad_value
        self.pad_mask = pad_mask
        self.mask_pad_value = mask_pad_value

    def forward(self, inputs: Tensor, data_samples: list[DetDataSample] | None) -> tuple[Tensor, list | None]:
        """``inputs (B, C, H, W)`` -> ``(B, C, max(H, h), max(W, w))``."""
        src_h, src_w = inputs.shape[-2:]
        dst_h, dst_w = self.size
        if src_h >= dst_h and src_w >= dst_w:
            return inputs, data_samples
        inputs = F.pad(inputs, (0, max(0, dst_w - src_w), 0, max(0, dst_h - src_h)), value=self.img_pad_value)
        shape = tuple(inputs.shape[-2:])
        for sample in data_samples or []:
            sample.set_metainfo(dict(batch_input_shape=shape, pad_shape=shape))
            if self.pad_mask and "gt_instances" in sample and "masks" in sample.gt_instances:
                sample.gt_instances.masks = sample.gt_instances.masks.pad(shape, pad_val=self.mask_pad_value)
        return inputs, data_samples
