# Cascade Mask R-CNN C4, ResNet-50 caffe, 12 epochs on COCO: cascade_rcnn_r50_caffe_c4_1x_coco.py
# with a mask head per stage on that stage's res5 RoI features (14 x 14 targets). Compare with
# mask_rcnn_r50_caffe_c4_1x_coco.py.
_base_ = [
    '../_base_/models/cascade-rcnn_r50-caffe-c4.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
_mask_head = dict(
    type='FCNMaskHead',
    num_convs=0,
    in_channels=2048,
    conv_out_channels=256,
    num_classes=80,
    loss_mask=dict(type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))
model = dict(
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(mask_roi_extractor=None, mask_head=[_mask_head, _mask_head, _mask_head]),
    train_cfg=dict(rcnn=[dict(r, mask_size=14) for r in _base_.model.train_cfg.rcnn]),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))
