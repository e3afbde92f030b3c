# Faster R-CNN, ResNet-50 + FPN, 12 epochs on COCO, regressing decoded boxes with the GIoU loss
# (weight 10): the single-stage baseline of cascade_rcnn_r50_fpn_giou_1x_coco.py.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
model = dict(roi_head=dict(bbox_head=dict(reg_decoded_bbox=True, loss_bbox=dict(_delete_=True, type='GIoULoss',
                                                                                 loss_weight=10.0))))
