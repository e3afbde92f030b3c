"""The per-image record that flows from the pipeline through the model to the metric."""

from typing import Any

from mmengine.structures import BaseDataElement, InstanceData


class DetDataSample(BaseDataElement):
    """Detection data of one image.

    Metainfo: ``img_id``, ``img_path``, ``ori_shape (h, w)``, ``img_shape (h, w)`` after
    resizing, ``scale_factor (w_scale, h_scale)``, ``flip``, ``flip_direction``,
    ``pad_shape`` and ``batch_input_shape`` (set by the data preprocessor).

    Data fields:
        gt_instances: ``bboxes (N, 4) float32 xyxy``, ``labels (N,) int64``, optional
            ``masks`` (:class:`BitmapMasks`).
        ignored_instances: crowd regions, same fields.
        proposals: ``bboxes``, ``scores`` of the RPN.
        pred_instances: ``bboxes``, ``scores``, ``labels`` and optional ``masks (N, H, W) bool``.
    """

    def _field(name: str, doc: str) -> property:  # noqa: N805 - a helper used at class creation
        private = f"_{name}"

        def getter(self: BaseDataElement) -> InstanceData:
            return getattr(self, private)

        def setter(self: BaseDataElement, value: InstanceData) -> None:
            self.set_field(value, private, dtype=InstanceData)

        def deleter(self: BaseDataElement) -> None:
            delattr(self, private)

        return property(getter, setter, deleter, doc)

    gt_instances = _field("gt_instances", "Ground-truth instances.")
    ignored_instances = _field("ignored_instances", "Crowd / ignored instances.")
    proposals = _field("proposals", "Region proposals.")
    pred_instances = _field("pred_instances", "Predicted instances.")
    del _field


SampleList = list[DetDataSample]


def unpack_gt_instances(
    batch_data_samples: SampleList,
) -> tuple[list[InstanceData], list[InstanceData | None], list[dict[str, Any]]]:
    """``(batch_gt_instances, batch_gt_instances_ignore, batch_img_metas)`` of a batch, as the
    heads' ``loss_by_feat`` take them (MMDetection's helper of the same name); an image without
    ``ignored_instances`` gives None."""
    gts, ignored, metas = [], [], []
    for sample in batch_data_samples:
        gts.append(sample.gt_instances)
        ignored.append(sample.ignored_instances if "ignored_instances" in sample else None)
        metas.append(sample.metainfo)
    return gts, ignored, metas
