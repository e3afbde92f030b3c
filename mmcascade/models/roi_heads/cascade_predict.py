"""Test-time behaviour of the cascade: refine through the stages, ensemble the classifiers,
NMS, and the masks of every stage averaged on the final boxes."""
import torch
import torch.nn.functional as F
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.structures import SampleList, bbox2roi, paste_masks

from ..layers import multiclass_nms


def empty_instances(ref: Tensor, with_mask: bool, mask_shape: tuple[int, int] = (0, 0)) -> InstanceData:
    """No detections: ``bboxes (0, 4)``, ``scores (0,)``, ``labels (0,)`` and ``masks (0, H, W)``."""
    result = InstanceData()
    result.bboxes = ref.new_zeros((0, 4))
    result.scores = ref.new_zeros((0,))
    result.labels = torch.zeros((0,), dtype=torch.long, device=ref.device)
    if with_mask:
        result.masks = torch.zeros((0, *mask_shape), dtype=torch.bool, device=ref.device)
    return result


def _output_shape(meta: dict, rescale: bool) -> tuple[int, int]:
    h, w = meta["ori_shape"][:2]
    if rescale:
        return int(h), int(w)
    w_scale, h_scale = meta["scale_factor"]
    return int(round(h * h_scale)), int(round(w * w_scale))


class CascadePredictMixin:
    """Prediction for :class:`CascadeRoIHead` (and the single-stage :class:`StandardRoIHead`)."""

    @torch.no_grad()
    def predict(self, feats: tuple[Tensor, ...], rpn_results: list[InstanceData],
                batch_data_samples: SampleList, rescale: bool = True) -> list[InstanceData]:
        """Detections per image: ``bboxes (K, 4)`` xyxy (original image when ``rescale``),
        ``scores (K,)``, ``labels (K,)`` and, with masks, ``masks (K, H, W)`` bool."""
        metas = [s.metainfo for s in batch_data_samples]
        proposals = [r.bboxes for r in rpn_results]
        feats = self.stage_modules(0)[0].pooling_layout(feats)
        rois = bbox2roi(proposals).to(feats[0].device)
        if rois.shape[0] == 0:
            return [empty_instances(feats[0], self.with_mask, _output_shape(m, rescale)) for m in metas]
        counts = [len(p) for p in proposals]
        last_rois, scores, deltas = self.refine_rois(feats, rois, counts, metas)
        results = [
            self._boxes_single(r, s, d, meta, rescale and not self.with_mask)
            for r, s, d, meta in zip(last_rois, scores, deltas, metas)
        ]
        if self.with_mask:
            results = self._predict_masks(feats, results, metas, rescale)
        return results

    def refine_rois(self, feats: tuple[Tensor, ...], rois: Tensor, counts: list[int],
                    metas: list[dict]) -> tuple[list[Tensor], list[Tensor], list[Tensor]]:
        """Run the stages; per image return the RoIs entering the last stage ``(K, 5)``, the
        ensembled class scores ``(K, C + 1)`` (logits, or probabilities for
        ``'last_rois_probs'``) and the last stage's deltas ``(K, 4)``."""
        stage_logits = []
        for stage in range(self.num_stages):
            cls_score, bbox_pred = self.bbox_forward(stage, feats, rois)
            stage_logits.append(cls_score)
            if stage < self.num_stages - 1:
                rois = self._refine_test(stage, rois, cls_score, bbox_pred, metas)
        if self.test_ensemble == "logits":
            ensembled = torch.stack(stage_logits).mean(dim=0)
        else:
            probs = [F.softmax(self.bbox_forward(s, feats, rois)[0], dim=-1) for s in range(self.num_stages - 1)]
            probs.append(F.softmax(cls_score, dim=-1))
            ensembled = torch.stack(probs).mean(dim=0)
        return list(rois.split(counts)), list(ensembled.split(counts)), list(bbox_pred.split(counts))

    def _refine_test(self, stage: int, rois: Tensor, cls_score: Tensor, bbox_pred: Tensor,
                     metas: list[dict]) -> Tensor:
        """RoIs of the next stage: each box regressed with its best non-background class."""
        head = self.stage_modules(stage)[1]
        labels = cls_score[:, :-1].argmax(dim=1)
        refined = rois.clone()
        for i, meta in enumerate(metas):
            inds = torch.nonzero(rois[:, 0] == i, as_tuple=False).squeeze(1)
            if inds.numel() > 0:
                refined[inds, 1:] = head.regress_by_class(rois[inds, 1:], labels[inds], bbox_pred[inds],
                                                          meta["img_shape"])
        return refined

    def _boxes_single(self, rois: Tensor, scores: Tensor, deltas: Tensor, meta: dict,
                      rescale: bool) -> InstanceData:
        if rois.shape[0] == 0:
            return empty_instances(rois, self.with_mask, _output_shape(meta, rescale))
        head = self.stage_modules(self.num_stages - 1)[1]
        probs = F.softmax(scores, dim=-1) if self.test_ensemble == "logits" else scores
        boxes = head.decode_all(rois[:, 1:], deltas, meta["img_shape"])
        if rescale:
            boxes = boxes / boxes.new_tensor(meta["scale_factor"]).repeat(boxes.shape[1] // 2)
        cfg = self.test_cfg
        dets, labels = multiclass_nms(boxes, probs, cfg["score_thr"], cfg["nms"], cfg["max_per_img"])
        result = InstanceData()
        result.bboxes, result.scores, result.labels = dets[:, :4], dets[:, 4], labels
        return result

    def _predict_masks(self, feats: tuple[Tensor, ...], results: list[InstanceData], metas: list[dict],
                       rescale: bool) -> list[InstanceData]:
        """Average every stage's mask probabilities on the final boxes, paste, threshold."""
        mask_rois = bbox2roi([r.bboxes for r in results])
        if mask_rois.shape[0] == 0:
            return [empty_instances(feats[0], True, _output_shape(m, rescale)) for m in metas]
        probs = torch.stack([
            self.mask_forward(stage, feats, mask_rois).sigmoid() for stage in range(self.num_stages)
        ]).mean(dim=0)
        head = self.stage_mask_modules(self.num_stages - 1)[1]
        out = []
        for res, p, meta in zip(results, probs.split([len(r) for r in results]), metas):
            shape = _output_shape(meta, rescale)
            if len(res) == 0:
                out.append(empty_instances(p, True, shape))
                continue
            boxes = res.bboxes
            if rescale:
                boxes = boxes / boxes.new_tensor(meta["scale_factor"]).repeat(2)
            threshold = self.test_cfg.get("mask_thr_binary", 0.5)
            new = InstanceData(bboxes=boxes, scores=res.scores, labels=res.labels)
            new.masks = paste_masks(head.select_probs(p, res.labels), boxes, shape, threshold)
            out.append(new)
        return out
