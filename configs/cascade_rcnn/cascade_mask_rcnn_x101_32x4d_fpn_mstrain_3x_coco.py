_base_ = './cascade_mask_rcnn_r50_fpn_mstrain_3x_coco.py'

model = dict(backbone=dict(
    type='ResNeXt',
    depth=101,
    groups=32,
    base_width=4,
    init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnext101_32x4d')))
