# Mask R-CNN C4, ResNet-50 caffe, 12 epochs on COCO: the single-stage baseline of
# cascade_mask_rcnn_r50_caffe_c4_1x_coco.py.
_base_ = [
    '../_base_/models/mask-rcnn_r50-caffe-c4.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
