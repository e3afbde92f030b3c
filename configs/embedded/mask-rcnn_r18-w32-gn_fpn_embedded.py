# The single-stage baseline of the main job, for the cascade comparison: the same backbone, neck,
# RPN, head widths, sampling, data and schedule as cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py,
# with one box stage at IoU 0.5 and one mask head (Mask R-CNN).
_base_ = [
    '../_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/embedded_instance.py',
    '../_base_/schedules/schedule_embedded_9e.py',
    '../_base_/default_runtime.py',
]

num_classes = 5
norm_cfg = dict(type='GN', num_groups=8, requires_grad=True)

model = dict(
    backbone=dict(depth=18, base_channels=32, frozen_stages=-1, norm_cfg=norm_cfg, norm_eval=False,
                  init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=num_classes),
        mask_roi_extractor=dict(out_channels=64),
        mask_head=dict(num_convs=2, in_channels=64, conv_out_channels=64, num_classes=num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=1000, max_per_img=500),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=300)))

randomness = dict(seed=0)

default_hooks = dict(logger=dict(interval=20), checkpoint=dict(interval=3, max_keep_ckpts=2))
