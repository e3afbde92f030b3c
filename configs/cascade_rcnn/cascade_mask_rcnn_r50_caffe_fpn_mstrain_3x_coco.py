_base_ = './cascade_mask_rcnn_r50_fpn_mstrain_3x_coco.py'

# Caffe-style (Detectron2) weights: BGR input, mean subtraction only, frozen BN affine, stride on
# the first 1x1 conv of each bottleneck.
model = dict(
    data_preprocessor=dict(mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
    backbone=dict(
        style='caffe',
        norm_cfg=dict(requires_grad=False),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')))
