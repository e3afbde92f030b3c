"""Normalise, convert BGR to RGB, pad to a multiple of 32 and batch; pad masks to match."""

import math
from collections.abc import Sequence

from mmengine.model import ImgDataPreprocessor
from torch import Tensor, nn

from mmcascade.registry import MODELS
from mmcascade.structures.bbox import BaseBoxes, get_box_tensor
from mmcascade.utils.options import check_extra_options


@MODELS.register_module()
class DetDataPreprocessor(ImgDataPreprocessor):
    """mmengine's image preprocessor plus detection metadata and mask padding.

    Args:
        mean, std: per-channel normalisation (in the channel order after ``bgr_to_rgb``).
        bgr_to_rgb: flip the channels of the loaded BGR images.
        pad_size_divisor: pad the batch's height and width up to a multiple of this.
        pad_mask, mask_pad_value: pad ``gt_instances.masks`` to the batch shape with this value
            when training (Mask R-CNN).
        batch_augments: transforms of the whole batch applied in training, e.g.
            ``[dict(type='BatchFixedSizePad', size=(1024, 1024))]``.
        boxtype2tensor: box objects (:class:`HorizontalBoxes`) a pipeline packed into the samples
            become their tensors (the only setting: the heads compute on tensors).
    """

    def __init__(
        self,
        mean=None,
        std=None,
        pad_size_divisor: int = 1,
        pad_value: float = 0,
        bgr_to_rgb: bool = False,
        rgb_to_bgr: bool = False,
        pad_mask: bool = False,
        mask_pad_value: int = 0,
        non_blocking: bool = False,
        batch_augments: Sequence[dict] | None = None,
        **kwargs,
    ) -> None:
        check_extra_options(
            type(self).__name__,
            kwargs,
            # boxtype2tensor=False would hand box objects to heads that compute on tensors
            dict(boxtype2tensor=True, pad_seg=False, seg_pad_value=255),
        )
        super().__init__(
            mean=mean,
            std=std,
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            bgr_to_rgb=bgr_to_rgb,
            rgb_to_bgr=rgb_to_bgr,
            non_blocking=non_blocking,
        )
        self.pad_mask = pad_mask
        self.mask_pad_value = mask_pad_value
        self.batch_augments = nn.ModuleList(MODELS.build(a) for a in batch_augments) if batch_augments else None

    def forward(self, data: dict, training: bool = False) -> dict:
        """Sets each sample's ``batch_input_shape`` (the batch's padded ``(h, w)``) and
        ``pad_shape`` (its own image padded to ``pad_size_divisor``: where its anchors are valid),
        as MMDetection does."""
        pad_shapes = self._own_pad_shapes(data["inputs"])
        data = super().forward(data, training)
        inputs, samples = data["inputs"], data["data_samples"]
        if samples is not None:
            batch_shape = tuple(inputs.shape[-2:])
            for sample, pad_shape in zip(samples, pad_shapes):
                sample.set_metainfo(dict(batch_input_shape=batch_shape, pad_shape=pad_shape))
                if training and self.pad_mask and "gt_instances" in sample and "masks" in sample.gt_instances:
                    sample.gt_instances.masks = sample.gt_instances.masks.pad(batch_shape, self.mask_pad_value)
        if samples is not None:
            _box_objects_to_tensors(samples)
        if training and self.batch_augments is not None:
            for augment in self.batch_augments:
                inputs, samples = augment(inputs, samples)
        return dict(inputs=inputs, data_samples=samples)

    def _own_pad_shapes(self, inputs: Tensor | Sequence[Tensor]) -> list[tuple[int, int]]:
        """Each input's ``(h, w)`` rounded up to ``pad_size_divisor`` (a stacked batch: its shape)."""
        d = self.pad_size_divisor
        if isinstance(inputs, Tensor):
            shapes = [tuple(inputs.shape[-2:])] * len(inputs)
        else:
            shapes = [t.shape[-2:] for t in inputs]
        return [(math.ceil(h / d) * d, math.ceil(w / d) * d) for h, w in shapes]


def _box_objects_to_tensors(samples: Sequence) -> None:
    """Replace box objects (:class:`BaseBoxes`) in the samples' instances by their tensors: a
    pipeline of the user's own may pack them there, and the models compute on tensors
    (MMDetection's ``boxtype2tensor=True``)."""
    for sample in samples:
        for field in ("gt_instances", "ignored_instances", "proposals"):
            instances = sample.get(field)
            if instances is not None and isinstance(instances.get("bboxes"), BaseBoxes):
                instances.bboxes = get_box_tensor(instances.bboxes)
