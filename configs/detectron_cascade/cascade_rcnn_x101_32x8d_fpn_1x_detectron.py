_base_ = './cascade_rcnn_r50_fpn_1x_detectron.py'

# 1 image per GPU, so half the batch and half the lr of the rows.
model = dict(backbone=dict(
    type='ResNeXt',
    depth=101,
    groups=32,
    base_width=8,
    init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnext101_32x8d')))
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(optimizer=dict(lr=0.01))
