# Faster R-CNN, ResNet-50 + FPN, on Pascal VOC 2007 + 2012: the single-stage baseline of
# cascade_rcnn_r50_fpn_1x_voc0712.py, with the same data and schedule.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_voc0712.py',
    '../_base_/default_runtime.py',
]
model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
