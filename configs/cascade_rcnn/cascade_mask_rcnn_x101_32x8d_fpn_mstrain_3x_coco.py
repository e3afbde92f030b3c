_base_ = './cascade_mask_rcnn_r50_fpn_mstrain_3x_coco.py'

# ResNeXt-101 32x8d trained with Caffe2 (Detectron2's ImageNet weights): BGR input with that
# model's mean and std, frozen BN affine, pytorch-style strides.
model = dict(
    data_preprocessor=dict(mean=[103.530, 116.280, 123.675], std=[57.375, 57.120, 58.395], bgr_to_rgb=False),
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=32,
        base_width=8,
        norm_cfg=dict(requires_grad=False),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnext101_32x8d')))
