# Cascade Mask R-CNN on RegNetX-800MF, otherwise as the RegNetX-3.2GF row.
_base_ = './cascade_mask_rcnn_regnetx-3.2GF_fpn_mstrain_3x_coco.py'

model = dict(
    backbone=dict(arch='regnetx_800mf', init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://regnetx_800mf')),
    neck=dict(in_channels=[64, 128, 288, 672]))
