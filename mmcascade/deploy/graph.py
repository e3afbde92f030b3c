"""The detector as one traceable function, for ``torch.onnx.export``.

:class:`DetectorGraph` calls the model's own modules in the order :meth:`TwoStageDetector.predict`
does: ``extract_feat``, the RPN's ``predict_by_feat`` and the RoI head's
:meth:`~mmcascade.models.roi_heads.base_roi_head.BaseRoIHead.detect` (which runs ``run_stages``).
While exporting, the ops they call take their graph forms (:mod:`mmcascade.ops.traceable`,
:mod:`mmcascade.ops.onnx_symbolic`): there is no second copy of the cascade here. Mask pasting
and the rest of ``DetDataSample`` assembly stay outside the graph
(:mod:`mmcascade.models.roi_heads.detections`), shared with the PyTorch model.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch import Tensor

from .contract import output_names


class DetectorGraph(nn.Module):
    """What the exported file computes, from the normalised, padded batch to the detections.

    Inputs:
        inputs: ``(B, 3, H, W)`` float32, the data preprocessor's output (normalised, padded).
        img_shapes: ``(B, 2)`` int64, each image's ``(height, width)`` inside the padding
            (``img_shape``; boxes are clipped to it).
        scale_factors: ``(B, 2)`` float32, each image's ``(w_scale, h_scale)`` (``scale_factor``).

    Outputs (all images' detections, image by image, each image's by descending score):
        bboxes: ``(D, 4)`` float32 xyxy, original-image pixels.
        scores: ``(D,)`` float32. labels: ``(D,)`` int64. batch_ids: ``(D,)`` int64, the image.
        mask_probs (mask models): ``(D, h, w)`` float32, each detection's mask probabilities in
            its box (pasted outside the graph, as the PyTorch model pastes them).
    """

    def __init__(self, detector: nn.Module, batch_size: int = 1) -> None:
        super().__init__()
        self.detector = detector
        self.batch_size = batch_size

    @property
    def output_names(self) -> tuple[str, ...]:
        return output_names(bool(self.detector.with_mask))

    def forward(self, inputs: Tensor, img_shapes: Tensor, scale_factors: Tensor) -> tuple[Tensor, ...]:
        model = self.detector
        feats = model.roi_feature_layout(model.extract_feat(inputs))
        metas = [dict(img_shape=img_shapes[i], scale_factor=scale_factors[i]) for i in range(self.batch_size)]
        cls_scores, bbox_preds = model.rpn_head(feats)
        proposals = model.rpn_head.predict_by_feat(
            cls_scores, bbox_preds, batch_img_metas=metas, cfg=model.rpn_head.test_cfg
        )
        dets = model.roi_head.detect(
            model.roi_head.pooling_layout(feats), [p.bboxes for p in proposals], metas, rescale=True
        )
        outputs = [
            torch.cat([d.bboxes for d in dets]),
            torch.cat([d.scores for d in dets]),
            torch.cat([d.labels for d in dets]),
            torch.cat([torch.full_like(d.labels, i) for i, d in enumerate(dets)]),
        ]
        if model.with_mask:
            outputs.append(torch.cat([d.mask_probs for d in dets]))
        return tuple(outputs)
