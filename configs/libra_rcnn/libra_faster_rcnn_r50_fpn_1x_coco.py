# Libra R-CNN (Faster R-CNN, ResNet-50 + FPN, 12 epochs): the single-stage baseline of
# libra_cascade_rcnn_r50_fpn_1x_coco.py. Balanced feature pyramid, balanced L1 loss,
# instance-balanced positives and IoU-balanced negatives.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
model = dict(
    neck=[
        dict(type='FPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5),
        dict(type='BFP', in_channels=256, num_levels=5, refine_level=2, refine_type='non_local'),
    ],
    roi_head=dict(bbox_head=dict(loss_bbox=dict(_delete_=True, type='BalancedL1Loss', alpha=0.5, gamma=1.5,
                                                 beta=1.0, loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(sampler=dict(neg_pos_ub=5), allowed_border=-1),
        rcnn=dict(sampler=dict(
            _delete_=True, type='CombinedSampler', num=512, pos_fraction=0.25, add_gt_as_proposals=True,
            pos_sampler=dict(type='InstanceBalancedPosSampler'),
            neg_sampler=dict(type='IoUBalancedNegSampler', floor_thr=-1, floor_fraction=0, num_bins=3)))))
