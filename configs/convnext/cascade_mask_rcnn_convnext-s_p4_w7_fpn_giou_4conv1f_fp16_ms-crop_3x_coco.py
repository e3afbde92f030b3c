# The ConvNeXt-T row on ConvNeXt-S (27 blocks in stage 3), drop path 0.6, lr decay over 12 layers.
_base_ = './cascade_mask_rcnn_convnext-t_p4_w7_fpn_giou_4conv1f_fp16_ms-crop_3x_coco.py'

checkpoint_file = ('https://download.openmmlab.com/mmclassification/v0/convnext/downstream/'
                   'convnext-small_3rdparty_32xb128-noema_in1k_20220301-303e75e3.pth')
model = dict(
    backbone=dict(
        arch='small', drop_path_rate=0.6,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint_file, prefix='backbone.')))
optim_wrapper = dict(paramwise_cfg=dict(num_layers=12))
