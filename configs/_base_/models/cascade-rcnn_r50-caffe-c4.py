# Cascade R-CNN C4, ResNet-50 caffe: three stages at IoU 0.5 / 0.6 / 0.7 on the C4 features, every
# stage running the one shared res5 head on its 14 x 14 RoIs, then its own box head on the pooled
# 2048-d vector (stds halved per stage, as the FPN cascade).
_base_ = './faster-rcnn_r50-caffe-c4.py'


def _stage_head(stds):
    return dict(
        type='BBoxHead',
        with_avg_pool=True,
        roi_feat_size=7,
        in_channels=2048,
        num_classes=80,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
        reg_class_agnostic=True,
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))


def _stage_train(iou):
    return dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=iou, neg_iou_thr=iou, min_pos_iou=iou,
                      match_low_quality=False, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                     add_gt_as_proposals=True),
        pos_weight=-1,
        debug=False)


model = dict(
    type='CascadeRCNN',
    roi_head=dict(
        _delete_=True,
        type='CascadeRoIHead',
        num_stages=3,
        stage_loss_weights=[1, 0.5, 0.25],
        shared_head=_base_.model.roi_head.shared_head,
        bbox_roi_extractor=_base_.model.roi_head.bbox_roi_extractor,
        bbox_head=[
            _stage_head([0.1, 0.1, 0.2, 0.2]),
            _stage_head([0.05, 0.05, 0.1, 0.1]),
            _stage_head([0.033, 0.033, 0.067, 0.067]),
        ]),
    train_cfg=dict(rcnn=[_stage_train(0.5), _stage_train(0.6), _stage_train(0.7)]))
