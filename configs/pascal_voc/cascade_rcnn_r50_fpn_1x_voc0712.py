# Cascade R-CNN, ResNet-50 + FPN, on Pascal VOC 2007 + 2012, tested on VOC 2007 test (11-point mAP
# at IoU 0.5). Compare with faster_rcnn_r50_fpn_1x_voc0712.py: VOC's AP50 rewards the cascade's
# tighter boxes less than COCO's AP does.
_base_ = [
    '../_base_/models/cascade-rcnn_r50_fpn.py',
    '../_base_/datasets/voc0712.py',
    '../_base_/schedules/schedule_voc0712.py',
    '../_base_/default_runtime.py',
]
model = dict(roi_head=dict(bbox_head=[dict(head, num_classes=20) for head in _base_.model.roi_head.bbox_head]))
