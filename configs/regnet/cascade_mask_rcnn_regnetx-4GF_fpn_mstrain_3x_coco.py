# Cascade Mask R-CNN on RegNetX-4GF, otherwise as the RegNetX-3.2GF row.
_base_ = './cascade_mask_rcnn_regnetx-3.2GF_fpn_mstrain_3x_coco.py'

model = dict(
    backbone=dict(arch='regnetx_4.0gf', init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://regnetx_4.0gf')),
    neck=dict(in_channels=[80, 240, 560, 1360]))
