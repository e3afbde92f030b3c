"""The ground-truth boxes a pipeline carries, as a box object whatever their container.

``LoadAnnotations`` stores ``gt_bboxes`` as :class:`HorizontalBoxes` (``box_type='hbox'``, the
default) or as a ``(N, 4)`` float32 array (``box_type=None``); the geometric transforms read them
through :func:`read_gt_boxes`, move them with the box object's own methods and hand them back in
the container they came in with :func:`write_gt_boxes`.
"""

import numpy as np

from mmcascade.structures.bbox import BaseBoxes, HorizontalBoxes


def read_gt_boxes(results: dict) -> BaseBoxes:
    """A box object of ``results['gt_bboxes']`` that may be changed in place: the pipeline's own
    object, or horizontal boxes copied from an array."""
    boxes = results["gt_bboxes"]
    if isinstance(boxes, BaseBoxes):
        return boxes
    array = np.asarray(boxes, dtype=np.float32)
    if array.size and (array.ndim != 2 or array.shape[1] != 4):
        raise ValueError(f"{results.get('img_path')}: gt_bboxes must be (N, 4) xyxy boxes, got shape {array.shape}")
    return HorizontalBoxes(array.reshape(-1, 4))


def write_gt_boxes(results: dict, boxes: BaseBoxes | np.ndarray) -> None:
    """Store ``boxes`` as ``results['gt_bboxes']`` in the container the pipeline uses there
    (a box object, or an array when ``LoadAnnotations(box_type=None)`` loaded arrays)."""
    if isinstance(results["gt_bboxes"], BaseBoxes):
        results["gt_bboxes"] = boxes if isinstance(boxes, BaseBoxes) else HorizontalBoxes(boxes)
    else:
        results["gt_bboxes"] = boxes.numpy() if isinstance(boxes, BaseBoxes) else np.asarray(boxes, np.float32)
