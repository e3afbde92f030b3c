# Mask R-CNN C4, ResNet-50 (caffe weights): Faster R-CNN C4 plus a mask head on the same res5
# RoI features (no mask extractor of its own; 14 x 14 mask targets from the 7 x 7 features).
_base_ = './faster-rcnn_r50-caffe-c4.py'
model = dict(
    type='MaskRCNN',
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        mask_roi_extractor=None,
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=0,
            in_channels=2048,
            conv_out_channels=256,
            num_classes=80,
            loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=14)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
