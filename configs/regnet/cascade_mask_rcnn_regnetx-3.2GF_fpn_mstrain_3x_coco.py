# Cascade Mask R-CNN on RegNetX-3.2GF (ImageNet weights converted from pycls, BGR 0-255 input with
# Caffe-style statistics), multi-scale 3x schedule, weight decay 5e-5.
_base_ = '../cascade_rcnn/cascade_mask_rcnn_r50_fpn_mstrain_3x_coco.py'

model = dict(
    data_preprocessor=dict(mean=[103.53, 116.28, 123.675], std=[57.375, 57.12, 58.395], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='RegNet',
        arch='regnetx_3.2gf',
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://regnetx_3.2gf')),
    neck=dict(in_channels=[96, 192, 432, 1008]))
optim_wrapper = dict(optimizer=dict(weight_decay=0.00005))
