# Cascade Mask R-CNN on ResNeSt-50 (split attention, radix 2), SyncBN in the backbone and in four-conv box
# heads and the mask heads, multi-scale 1x schedule.
_base_ = '../cascade_rcnn/cascade_mask_rcnn_r50_fpn_1x_coco.py'

norm_cfg = dict(type='SyncBN', requires_grad=True)


def _stage_head(stds):
    return dict(
        type='Shared4Conv1FCBBoxHead', in_channels=256, conv_out_channels=256, fc_out_channels=1024,
        norm_cfg=dict(type='SyncBN', requires_grad=True), roi_feat_size=7, num_classes=80,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
        reg_class_agnostic=True,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))


model = dict(
    data_preprocessor=dict(mean=[123.68, 116.779, 103.939], std=[58.393, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        type='ResNeSt',
        stem_channels=64,
        depth=50,
        radix=2,
        reduction_factor=4,
        avg_down_stride=True,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnest50')),
    roi_head=dict(
        bbox_head=[
            _stage_head([0.1, 0.1, 0.2, 0.2]),
            _stage_head([0.05, 0.05, 0.1, 0.1]),
            _stage_head([0.033, 0.033, 0.067, 0.067]),
        ],
        mask_head=[
            dict(type='FCNMaskHead', num_convs=4, in_channels=256, conv_out_channels=256, num_classes=80,
                 norm_cfg=norm_cfg, loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
            for _ in range(3)
        ]))

# the polygons stay polygons (poly2mask=False): each RoI's mask target is rasterised from them
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True, poly2mask=False),
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(640, 801, 32)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
