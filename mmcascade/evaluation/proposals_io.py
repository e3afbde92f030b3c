"""Proposal files: an RPN's proposals of every image written for a Fast R-CNN to train and test
on (MMDetection's ``DumpProposals`` layout), read back by the datasets' ``proposal_file``
(:mod:`mmcascade.datasets.proposals`).

The file is a pickle of one dict: key ``'<image folder>/<file name>'`` (``'val2017/000000000139.jpg'``),
value an ``InstanceData`` with ``bboxes (N, 4)`` float32 array, xyxy original-image pixels, and
``scores (N,)`` float32 array, best first.
"""

import os
from collections.abc import Sequence

import mmengine
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import InstanceData

from mmcascade.datasets.proposals import proposal_key
from mmcascade.registry import METRICS


@METRICS.register_module()
class DumpProposals(BaseMetric):
    """Write every image's predictions, ranked by score, to ``output_dir/proposals_file``;
    returns no metric (put it beside ``CocoMetric(metric='proposal_fast')`` to also get recall).

    Args:
        output_dir: folder of the file (made when missing).
        proposals_file: ``.pkl`` / ``.pickle`` file name.
        num_max_proposals: keep at most this many per image (all when None).
        backend_args: mmengine file-backend arguments for writing.
        file_client_args: MMDetection 2's spelling, refused: use ``backend_args``.
    """

    default_prefix = "dump_proposals"

    def __init__(
        self,
        output_dir: str = "",
        proposals_file: str = "proposals.pkl",
        num_max_proposals: int | None = None,
        file_client_args: dict | None = None,
        backend_args: dict | None = None,
        collect_device: str = "cpu",
        prefix: str | None = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if file_client_args is not None:
            raise ValueError("DumpProposals: file_client_args is MMDetection 2's option; use backend_args")
        if not proposals_file.endswith((".pkl", ".pickle")):
            raise ValueError(f"DumpProposals: proposals_file must end in .pkl or .pickle, got {proposals_file!r}")
        self.num_max_proposals = num_max_proposals
        self.backend_args = backend_args
        self.output_dir = output_dir
        self.proposals_file = os.path.join(output_dir, proposals_file)
        if output_dir:
            os.makedirs(output_dir, exist_ok=True)

    def process(self, data_batch: dict, data_samples: Sequence) -> None:
        for sample in data_samples:
            sample = sample.to_dict() if hasattr(sample, "to_dict") else dict(sample)
            pred = sample["pred_instances"]
            scores, order = pred["scores"].sort(descending=True)
            ranked = InstanceData(bboxes=pred["bboxes"][order].cpu().numpy(), scores=scores.cpu().numpy())
            if self.num_max_proposals is not None:
                ranked = ranked[: self.num_max_proposals]
            self.results.append({proposal_key(sample["img_path"]): ranked})

    def compute_metrics(self, results: list) -> dict:
        merged: dict[str, InstanceData] = {}
        for result in results:
            merged.update(result)
        mmengine.dump(merged, self.proposals_file, backend_args=self.backend_args)
        print_log(f"proposals of {len(merged)} images written to {self.proposals_file}", logger="current")
        return {}
