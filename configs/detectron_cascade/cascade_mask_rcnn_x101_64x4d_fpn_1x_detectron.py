_base_ = './cascade_mask_rcnn_r50_fpn_1x_detectron.py'

# 1 image per GPU, so half the batch and half the lr of the rows.
model = dict(backbone=dict(
    type='ResNeXt',
    depth=101,
    groups=64,
    base_width=4,
    init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(optimizer=dict(lr=0.01))
