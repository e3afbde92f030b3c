# The HRNetV2p-W32 row with W18 branches (18, 36, 72, 144 channels).
_base_ = './cascade_rcnn_hrnetv2p_w32_20e_coco.py'

model = dict(
    backbone=dict(
        extra=dict(
            stage2=dict(num_channels=(18, 36)),
            stage3=dict(num_channels=(18, 36, 72)),
            stage4=dict(num_channels=(18, 36, 72, 144))),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w18')),
    neck=dict(in_channels=[18, 36, 72, 144]))
