"""Precomputed proposals through the pipeline (Fast R-CNN): ``LoadProposals`` and
``ProposalBroadcaster`` move them with the image exactly as the ground truth, pinned to
MMDetection 3.3.0's output for the same record; the dataset's ``proposal_file`` in the layout
``DumpProposals`` writes."""

import pickle

import numpy as np
import pytest
from mmcv.transforms import Compose
from mmengine.structures import InstanceData

from mmcascade.datasets.proposals import load_proposal_file, proposal_key
from mmcascade.datasets.record_checks import DatasetError
from mmcascade.registry import TRANSFORMS

# MMDetection 3.3.0, the pipeline below (Resize to (1333, 800) keeping the ratio, then a flip)
MMDET_PROPOSALS = [[666.875, 26.66666603088379, 1053.6624755859375, 540.0]]
MMDET_SCORES = [0.8999999761581421]
MMDET_GT = [[666.875, 26.66666603088379, 1053.6624755859375, 533.3333129882812]]


def _record() -> dict:
    proposals = InstanceData(
        bboxes=np.array([[1.0, 2, 30, 40.5], [5, 5, 20, 20]], np.float32), scores=np.array([0.9, 0.5], np.float32)
    )
    return dict(
        img=np.zeros((60, 80, 3), np.uint8), img_shape=(60, 80), ori_shape=(60, 80), img_id=1, img_path="a/b.jpg",
        instances=[dict(bbox=[1, 2, 30, 40], bbox_label=0, ignore_flag=0)], proposals=proposals,
    )  # fmt: skip


def _pipeline(flip_prob: float) -> Compose:
    return Compose(
        [
            TRANSFORMS.build(t)
            for t in (
                dict(type="LoadProposals", num_max_proposals=1),
                dict(type="LoadAnnotations", with_bbox=True),
                dict(
                    type="ProposalBroadcaster",
                    transforms=[
                        dict(type="Resize", scale=(1333, 800), keep_ratio=True),
                        dict(type="RandomFlip", prob=flip_prob),
                    ],
                ),
                dict(type="PackDetInputs"),
            )
        ]
    )


def test_proposals_move_with_the_image_as_in_mmdetection():
    sample = _pipeline(1.0)(_record())["data_samples"]
    assert sample.proposals.bboxes.tolist() == MMDET_PROPOSALS
    assert sample.proposals.scores.tolist() == MMDET_SCORES
    assert sample.gt_instances.bboxes.tolist() == MMDET_GT
    assert sample.img_shape == (800, 1067) and sample.flip


def test_random_flips_move_proposals_and_ground_truth_together():
    pipeline = _pipeline(0.5)
    flips = set()
    for _ in range(20):
        sample = pipeline(_record())["data_samples"]
        flips.add(sample.flip)
        # proposal 0 is the ground-truth box but for its bottom edge: flipped alike or not at all
        assert sample.proposals.bboxes[0, :3].tolist() == sample.gt_instances.bboxes[0, :3].tolist()
    assert flips == {True, False}


def test_proposal_file_layout_and_errors(tmp_path):
    assert proposal_key("/data/coco/val2017/000000000139.jpg") == "val2017/000000000139.jpg"
    path = tmp_path / "p.pkl"
    good = InstanceData(bboxes=np.zeros((3, 4), np.float32), scores=np.zeros(3, np.float32))
    with open(path, "wb") as f:
        pickle.dump({"val2017/a.jpg": good, "val2017/b.jpg": dict(bboxes=np.zeros((2, 5)))}, f)
    assert len(load_proposal_file(str(path), ["/x/val2017/a.jpg"])[0]) == 3
    with pytest.raises(DatasetError, match=r"no proposals for image 'val2017/c.jpg'"):
        load_proposal_file(str(path), ["/x/val2017/c.jpg"])
    with pytest.raises(DatasetError, match=r"'val2017/b.jpg' must be \(N, 4\) boxes"):
        load_proposal_file(str(path), ["/x/val2017/b.jpg"])
    with pytest.raises(KeyError, match="LoadProposals needs the dataset's proposal_file"):
        TRANSFORMS.build(dict(type="LoadProposals"))(dict(img_path="a.jpg"))
