"""Precomputed proposals in the pipeline (Fast R-CNN): loaded from the record, moved with the
image by the geometric transforms, packed as the sample's ``proposals``."""

import copy

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmcv.transforms.utils import cache_random_params

from mmcascade.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadProposals(BaseTransform):
    """The record's ``proposals`` (``bboxes (N, 4)``, optional ``scores``, best first) as
    ``results['proposals']`` ``(N, 4)`` float32 and ``results['proposals_scores']`` ``(N,)``.

    Args:
        num_max_proposals: keep the first this many (all when None).
    """

    def __init__(self, num_max_proposals: int | None = None) -> None:
        self.num_max_proposals = num_max_proposals

    def transform(self, results: dict) -> dict:
        if "proposals" not in results:
            raise KeyError(
                f"{results.get('img_path')}: LoadProposals needs the dataset's proposal_file "
                "(a record without 'proposals')"
            )
        proposals = results["proposals"]
        boxes = np.asarray(proposals["bboxes"], dtype=np.float32).reshape(-1, 4)
        scores = proposals["scores"] if "scores" in proposals else np.zeros(len(boxes))
        scores = np.asarray(scores, dtype=np.float32).reshape(-1)
        if len(scores) != len(boxes):
            raise ValueError(f"{results.get('img_path')}: {len(boxes)} proposal boxes but {len(scores)} scores")
        if self.num_max_proposals is not None:
            boxes, scores = boxes[: self.num_max_proposals], scores[: self.num_max_proposals]
        results["proposals"], results["proposals_scores"] = boxes, scores
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_max_proposals={self.num_max_proposals})"


@TRANSFORMS.register_module()
class ProposalBroadcaster(BaseTransform):
    """Run ``transforms`` on the results and, with the same random draws, on the proposals (as
    ground-truth boxes of a copy), so that resizing and flipping move both alike.

    Args:
        transforms: the geometric transforms (``Resize``, ``RandomFlip``...).
    """

    def __init__(self, transforms: list | None = None) -> None:
        self.transforms = Compose(transforms or [])

    def transform(self, results: dict) -> dict:
        if results.get("proposals") is None:
            raise KeyError(
                f"{results.get('img_path')}: ProposalBroadcaster needs 'proposals' (LoadProposals before it)"
            )
        twin = copy.deepcopy(results)
        twin["gt_bboxes"] = twin["proposals"]
        for key in ("gt_masks", "gt_bboxes_labels", "gt_ignore_flags"):
            twin.pop(key, None)
        with cache_random_params(self.transforms):
            out, moved = self.transforms(results), self.transforms(twin)
        out["proposals"] = moved["gt_bboxes"]
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(transforms={self.transforms})"
