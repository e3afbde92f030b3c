"""Typed, validated per-stage training settings of a (cascade) RoI head."""

import copy
from dataclasses import dataclass

from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.registry import TASK_UTILS
from mmcascade.utils.options import check_block_keys
from mmcascade.utils.typing_utils import MultiConfig

from ..task_modules import MaxIoUAssigner, RandomSampler, SamplingResult


@dataclass(frozen=True)
class StageTrainSettings:
    """What one stage needs to train.

    Attributes:
        assigner: matches RoIs to ground truth at this stage's IoU threshold.
        sampler: picks the RoIs this stage is trained on.
        loss_weight: multiplier of this stage's losses (1, 0.5, 0.25 in the paper).
        pos_weight: classification weight of positives (<= 0 means 1).
        mask_size: side of the mask targets (28).
    """

    assigner: MaxIoUAssigner
    sampler: RandomSampler
    loss_weight: float
    pos_weight: float = -1.0
    mask_size: int = 28
    stage: int = 0

    def sample(
        self,
        boxes: Tensor,
        gt: InstanceData,
        ignored: InstanceData | None = None,
        feats: tuple[Tensor, ...] | None = None,
    ) -> SamplingResult:
        """Assign ``boxes (P, 4)`` (xyxy input-image pixels) to ``gt`` (``bboxes``, ``labels``),
        boxes over ``ignored.bboxes`` (crowd regions) ignored by the assigner's ``ignore_iof_thr``,
        and sample the RoIs this stage trains on (``feats``: the image's maps, for samplers that
        score candidates, such as OHEM)."""
        assign = self.assigner.assign(InstanceData(priors=boxes), gt, ignored)
        return self.sampler.sample(assign, boxes, gt.bboxes, gt.labels, feats=feats, stage=self.stage)


def build_stage_settings(
    rcnn_cfgs: MultiConfig, loss_weights: list[float], resample_later_stages: bool = True, context: object = None
) -> list[StageTrainSettings]:
    """Build and check one :class:`StageTrainSettings` per stage.

    Args:
        rcnn_cfgs: ``train_cfg.rcnn``: one dict per stage (or one dict for a single stage)
            with ``assigner``, ``sampler``, optional ``pos_weight`` and ``mask_size``.
        loss_weights: ``stage_loss_weights``, one per stage.
        resample_later_stages: False gives the author's variant: stages after the first
            keep every refined box (plus the ground truth) instead of sampling.
        context: the RoI head, given to every sampler (OHEM scores candidates with it).

    Raises:
        ValueError: when the number of stage configs and weights differ, or a weight is negative.
    """
    cfgs = [rcnn_cfgs] if isinstance(rcnn_cfgs, dict) else list(rcnn_cfgs)
    if len(cfgs) != len(loss_weights):
        raise ValueError(f"train_cfg.rcnn has {len(cfgs)} stage(s) but stage_loss_weights has {len(loss_weights)}")
    stages = []
    for i, (cfg, weight) in enumerate(zip(cfgs, loss_weights)):
        if weight < 0:
            raise ValueError(f"stage_loss_weights[{i}] = {weight} is negative")
        for key in ("assigner", "sampler"):
            if key not in cfg:
                raise ValueError(f"train_cfg.rcnn[{i}] has no '{key}'")
        check_block_keys(
            f"train_cfg.rcnn[{i}]", cfg, ("assigner", "sampler", "pos_weight", "mask_size"), dict(debug=False)
        )
        sampler_cfg = copy.deepcopy(dict(cfg["sampler"]))
        if not resample_later_stages and i > 0:
            sampler_cfg.update(sample_all=True, add_gt_as_proposals=True)
        stages.append(
            StageTrainSettings(
                assigner=TASK_UTILS.build(cfg["assigner"]),
                sampler=TASK_UTILS.build(sampler_cfg, default_args=dict(context=context)),
                loss_weight=float(weight),
                pos_weight=float(cfg.get("pos_weight", -1)),
                mask_size=int(cfg.get("mask_size", 28)),
                stage=i,
            )
        )
    return stages
