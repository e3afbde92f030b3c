# Detectron's end-to-end Faster R-CNN R-50-FPN 1x baseline (seed 000): Caffe-style MSRA backbone,
# Detectron's RoIAlign (no half-pixel offset, 2 samples per bin), 2 images per GPU.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]

model = dict(
    data_preprocessor=dict(mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
    backbone=dict(
        style='caffe',
        norm_cfg=dict(requires_grad=False),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    roi_head=dict(
        bbox_roi_extractor=dict(roi_layer=dict(aligned=False, sampling_ratio=2))))
