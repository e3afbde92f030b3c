# Faster R-CNN, ResNet-50 with PAFPN, 12 epochs on COCO: the single-stage baseline of
# cascade_rcnn_r50_pafpn_1x_coco.py.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
model = dict(neck=dict(type='PAFPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5))
