# The region proposal network alone (ResNet-50 + FPN): the first stage of every detector here,
# trained and evaluated by itself (proposal recall); its proposals can be dumped for Fast R-CNN.
_base_ = './faster-rcnn_r50_fpn.py'
model = dict(
    _delete_=True,
    type='RPN',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    rpn_head={{_base_.model.rpn_head}},
    train_cfg=dict(rpn={{_base_.model.train_cfg.rpn}}),
    # twice the proposals a two-stage detector keeps before NMS at test time
    test_cfg=dict(rpn=dict(nms_pre=2000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7),
                           min_bbox_size=0)))
