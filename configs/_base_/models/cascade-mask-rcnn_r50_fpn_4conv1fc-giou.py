# Cascade Mask R-CNN whose box heads are four 3x3 convs (SyncBN) and one fc, class-specific
# regression of decoded boxes trained with GIoU (weight 10): the heads of Swin's and ConvNeXt's
# cascade rows. The backbone is set by the config that uses this file.
_base_ = './cascade-mask-rcnn_r50_fpn.py'


def _stage_head(stds):
    return dict(
        type='ConvFCBBoxHead', num_shared_convs=4, num_shared_fcs=1, in_channels=256, conv_out_channels=256,
        fc_out_channels=1024, roi_feat_size=7, num_classes=80,
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0., 0., 0., 0.], target_stds=stds),
        reg_class_agnostic=False, reg_decoded_bbox=True, norm_cfg=dict(type='SyncBN', requires_grad=True),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=10.0))


model = dict(roi_head=dict(bbox_head=[
    _stage_head([0.1, 0.1, 0.2, 0.2]),
    _stage_head([0.05, 0.05, 0.1, 0.1]),
    _stage_head([0.033, 0.033, 0.067, 0.067]),
]))
