# Cascade R-CNN on Res2Net-101 (v1d, 26w x 4 scales: each bottleneck's 3x3 conv
# split into four hierarchical groups), 20 epochs.
_base_ = '../cascade_rcnn/cascade_rcnn_r50_fpn_20e_coco.py'

model = dict(
    backbone=dict(
        type='Res2Net',
        depth=101,
        scales=4,
        base_width=26,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://res2net101_v1d_26w_4s')))
