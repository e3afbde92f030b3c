# The README's main job: a small Cascade Mask R-CNN trained from scratch on the embedded
# shapes dataset, on CPU, in about ten minutes. ResNet-18 layout at half width (32 base
# channels), GroupNorm everywhere in the backbone (batch statistics are useless at batch 2),
# no pretrained weights; fewer proposals and sampled RoIs than COCO needs.
_base_ = [
    '../_base_/models/cascade-mask-rcnn_r50_fpn.py',
    '../_base_/datasets/embedded_instance.py',
    '../_base_/schedules/schedule_embedded_9e.py',
    '../_base_/default_runtime.py',
]

num_classes = 5
norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)


# mmengine replaces lists instead of merging them, so the per-stage lists are written in full.
def bbox_head(stds):
    return dict(type='Shared2FCBBoxHead', in_channels=64, fc_out_channels=256, roi_feat_size=7,
                num_classes=num_classes, reg_class_agnostic=True,
                bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.],
                                target_stds=stds),
                loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))


def rcnn_stage(iou):
    return dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=iou, neg_iou_thr=iou, min_pos_iou=iou,
                      match_low_quality=False, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=128, pos_fraction=0.25, neg_pos_ub=-1,
                     add_gt_as_proposals=True),
        mask_size=28, pos_weight=-1, debug=False)


mask_head = dict(type='FCNMaskHead', num_convs=2, in_channels=64, conv_out_channels=64,
                 num_classes=num_classes,
                 loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))

model = dict(
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False,
                  init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64,
                  anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=[bbox_head([0.1, 0.1, 0.2, 0.2]), bbox_head([0.05, 0.05, 0.1, 0.1]),
                   bbox_head([0.033, 0.033, 0.067, 0.067])],
        mask_roi_extractor=dict(out_channels=64),
        mask_head=[mask_head, mask_head, mask_head]),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=[rcnn_stage(0.5), rcnn_stage(0.6), rcnn_stage(0.7)]),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

randomness = dict(seed=0)

default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=3, max_keep_ckpts=2))
