_base_ = './cascade_mask_rcnn_r50_fpn_1x_detectron.py'

# 1 image per GPU, so half the batch and half the lr of the rows.
# ResNeXt in Detectron strides in the 3x3 conv (pytorch style); the torchvision-style ImageNet
# weights want RGB input normalised by ImageNet mean and std.
model = dict(
    data_preprocessor=dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        type='ResNeXt',
        style='pytorch',
        depth=101,
        groups=64,
        base_width=4,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(optimizer=dict(lr=0.01))
