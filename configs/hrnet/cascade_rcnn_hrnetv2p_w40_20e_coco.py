# The HRNetV2p-W32 row with W40 branches (40, 80, 160, 320 channels).
_base_ = './cascade_rcnn_hrnetv2p_w32_20e_coco.py'

model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(40, 80)),
            stage3=dict(num_channels=(40, 80, 160)),
            stage4=dict(num_channels=(40, 80, 160, 320))),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w40')),
    neck=dict(in_channels=[40, 80, 160, 320]))
