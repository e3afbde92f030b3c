# Faster R-CNN (ResNet-50 + FPN, 12 epochs) trained with online hard example mining: of the
# sampled RoIs, those the box head classifies worst. The single-stage baseline of
# cascade_rcnn_r50_fpn_ohem_1x_coco.py.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
model = dict(train_cfg=dict(rcnn=dict(sampler=dict(type='OHEMSampler'))))
