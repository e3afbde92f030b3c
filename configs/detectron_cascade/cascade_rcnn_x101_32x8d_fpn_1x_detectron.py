_base_ = './cascade_rcnn_r50_fpn_1x_detectron.py'

# 1 image per GPU, so half the batch and half the lr of the rows.
# ResNeXt in Detectron strides in the 3x3 conv (pytorch style); the ImageNet weights are Detectron2's
# conversion of FB's 32x8d model: BGR input with its mean and std.
model = dict(
    data_preprocessor=dict(mean=[103.530, 116.280, 123.675], std=[57.375, 57.120, 58.395], bgr_to_rgb=False),
    backbone=dict(
        type='ResNeXt',
        style='pytorch',
        depth=101,
        groups=32,
        base_width=8,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnext101_32x8d')))
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(optimizer=dict(lr=0.01))
