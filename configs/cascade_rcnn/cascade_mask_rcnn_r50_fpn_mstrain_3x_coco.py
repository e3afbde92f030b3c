# Beyond the original tables: OpenMMLab's multi-scale 3x Cascade Mask R-CNN (shorter side
# 640-800 in training, 1333x800 at test, 36 passes over COCO train2017).
_base_ = [
    '../_base_/models/cascade-mask-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_instance_ms-3x.py',
    '../_base_/schedules/schedule_ms-3x.py',
    '../_base_/default_runtime.py',
]
