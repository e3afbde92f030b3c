# Cascade R-CNN with Libra R-CNN's three balancing parts (Pang et al., CVPR 2019), to compare with
# libra_faster_rcnn_r50_fpn_1x_coco.py on the same data: the balanced feature pyramid after the
# FPN (non-local refinement at the middle level), balanced L1 regression in every stage, and
# instance-balanced positives with IoU-balanced negatives in every stage's sampling.
_base_ = '../cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py'
balanced_l1 = dict(type='BalancedL1Loss', alpha=0.5, gamma=1.5, beta=1.0, loss_weight=1.0)
libra_sampler = dict(
    type='CombinedSampler', num=512, pos_fraction=0.25, add_gt_as_proposals=True,
    pos_sampler=dict(type='InstanceBalancedPosSampler'),
    neg_sampler=dict(type='IoUBalancedNegSampler', floor_thr=-1, floor_fraction=0, num_bins=3))
model = dict(
    neck=[
        dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5),
        dict(type='BFP', in_channels=256, num_levels=5, refine_level=2, refine_type='non_local'),
    ],
    roi_head=dict(bbox_head=[dict(head, loss_bbox=balanced_l1) for head in _base_.model.roi_head.bbox_head]),
    train_cfg=dict(
        rpn=dict(sampler=dict(neg_pos_ub=5), allowed_border=-1),
        rcnn=[dict(stage, sampler=libra_sampler) for stage in _base_.model.train_cfg.rcnn]))
