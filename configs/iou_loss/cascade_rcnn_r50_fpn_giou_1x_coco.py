# Cascade R-CNN, ResNet-50 + FPN, 12 epochs on COCO, every stage regressing decoded boxes with the
# GIoU loss (weight 10, as the IoU-loss detectors use it) instead of smooth L1 on the deltas; compare
# with faster_rcnn_r50_fpn_giou_1x_coco.py. Each stage keeps its own coder stds (they scale the
# deltas the head predicts; the loss compares the decoded boxes).
_base_ = '../cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py'
giou = dict(type='GIoULoss', loss_weight=10.0)
model = dict(roi_head=dict(bbox_head=[dict(head, reg_decoded_bbox=True, loss_bbox=giou)
                                      for head in _base_.model.roi_head.bbox_head]))
