# Cascade Mask R-CNN on ConvNeXt-T (ImageNet-1k weights), four-conv GIoU box heads, DETR-style
# multi-scale crop augmentation, AdamW with layer-wise lr decay 0.7, mixed precision, 36 epochs.
# The backbone answers to mmpretrain's name; mmpretrain need not be installed.
_base_ = [
    '../_base_/models/cascade-mask-rcnn_r50_fpn_4conv1fc-giou.py',
    '../_base_/datasets/coco_instance_ms-crop.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
checkpoint_file = ('https://download.openmmlab.com/mmclassification/v0/convnext/downstream/'
                   'convnext-tiny_3rdparty_32xb128-noema_in1k_20220301-795e9634.pth')
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.ConvNeXt',
        arch='tiny',
        out_indices=[0, 1, 2, 3],
        drop_path_rate=0.4,
        layer_scale_init_value=1.0,
        gap_before_final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file, prefix='backbone.')),
    neck=dict(in_channels=[96, 192, 384, 768]))

train_cfg = dict(max_epochs=36)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=1000),
    dict(type='MultiStepLR', begin=0, end=36, by_epoch=True, milestones=[27, 33], gamma=0.1)
]
# Mixed precision needs a GPU; on a CPU train with
#   --cfg-options optim_wrapper.type=OptimWrapper
optim_wrapper = dict(
    type='AmpOptimWrapper',
    constructor='LearningRateDecayOptimizerConstructor',
    paramwise_cfg=dict(decay_rate=0.7, decay_type='layer_wise', num_layers=6),
    optimizer=dict(_delete_=True, type='AdamW', lr=0.0002, betas=(0.9, 0.999), weight_decay=0.05))
