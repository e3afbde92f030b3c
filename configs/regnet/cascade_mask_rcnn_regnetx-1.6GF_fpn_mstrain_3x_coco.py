# Cascade Mask R-CNN on RegNetX-1.6GF, otherwise as the RegNetX-3.2GF row.
_base_ = './cascade_mask_rcnn_regnetx-3.2GF_fpn_mstrain_3x_coco.py'

model = dict(
    backbone=dict(arch='regnetx_1.6gf', init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://regnetx_1.6gf')),
    neck=dict(in_channels=[72, 168, 408, 912]))
