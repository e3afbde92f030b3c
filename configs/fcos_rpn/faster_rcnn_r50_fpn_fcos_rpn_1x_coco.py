# Faster R-CNN with an FCOS head as its proposal network, ResNet-50 + FPN (P3-P7 with P6 from P5's
# output), 12 epochs on COCO: anchor-free proposals, each point's score its objectness times its
# centerness. 1000-iteration warm-up (the IoU loss diverges without it).
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
model = dict(
    neck=dict(start_level=1, add_extra_convs='on_output', relu_before_extra_convs=True),
    rpn_head=dict(
        _delete_=True,
        type='FCOSHead',
        num_classes=1,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    roi_head=dict(bbox_roi_extractor=dict(featmap_strides=[8, 16, 32, 64, 128])))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
