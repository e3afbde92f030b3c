# Cascade Mask R-CNN on RegNetX-400MF, otherwise as the RegNetX-3.2GF row.
_base_ = './cascade_mask_rcnn_regnetx-3.2GF_fpn_mstrain_3x_coco.py'

model = dict(
    backbone=dict(arch='regnetx_400mf', init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://regnetx_400mf')),
    neck=dict(in_channels=[32, 64, 160, 384]))
