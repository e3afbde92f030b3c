# The r101 row with deformable 3x3 convolutions (DCN, one offset group) in stages C3-C5.
_base_ = '../cascade_rcnn/cascade_rcnn_r101_fpn_1x_coco.py'

model = dict(
    backbone=dict(
        dcn=dict(type='DCN', deform_groups=1, fallback_on_stride=False), stage_with_dcn=(False, True, True, True)))
