_base_ = './cascade_rcnn_r50_fpn_1x_detectron.py'

model = dict(backbone=dict(
    depth=101, init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
