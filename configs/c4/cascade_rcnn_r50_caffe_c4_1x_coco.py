# Cascade R-CNN C4, ResNet-50 caffe, 12 epochs on COCO. Compare with faster_rcnn_r50_caffe_c4_1x_coco.py
# (the same features, one stage at IoU 0.5).
_base_ = [
    '../_base_/models/cascade-rcnn_r50-caffe-c4.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
