# Dynamic R-CNN, ResNet-50 + FPN, 12 epochs on COCO (Zhang et al., ECCV 2020): one stage whose IoU
# threshold rises (from 0.5, at least 0.4) with the proposals' quality and whose SmoothL1 beta
# falls (at most 1.0) with the regression targets, updated every 100 iterations. The cascade
# raises the threshold with stages instead (cascade_rcnn_r50_fpn_1x_coco.py).
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
model = dict(
    roi_head=dict(
        type='DynamicRoIHead',
        bbox_head=dict(loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    train_cfg=dict(
        rpn_proposal=dict(nms=dict(iou_threshold=0.85)),
        rcnn=dict(
            dynamic_rcnn=dict(
                iou_topk=75,
                beta_topk=10,
                update_iter_interval=100,
                initial_iou=0.4,
                initial_beta=1.0))),
    test_cfg=dict(rpn=dict(nms=dict(iou_threshold=0.85))))
