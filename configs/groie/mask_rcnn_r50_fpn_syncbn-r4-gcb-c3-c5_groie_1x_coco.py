# Mask R-CNN with GRoIE for boxes and masks and GCNet's global context blocks (ContextBlock, ratio
# 1/4, after the last conv of every bottleneck of res3-res5; Cao et al., 2019), SyncBN in the
# backbone, ResNet-50 + FPN, 12 epochs on COCO. In one process SyncBN runs as BN.
_base_ = [
    '../_base_/models/mask-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
model = dict(
    backbone=dict(
        norm_cfg=dict(type='SyncBN', requires_grad=True),
        norm_eval=False,
        plugins=[dict(cfg=dict(type='ContextBlock', ratio=1. / 4), stages=(False, True, True, True),
                      position='after_conv3')]),
    roi_head=dict(
        bbox_roi_extractor=dict(
            type='GenericRoIExtractor',
            aggregation='sum',
            roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32],
            pre_cfg=dict(type='ConvModule', in_channels=256, out_channels=256, kernel_size=5, padding=2,
                         inplace=False),
            post_cfg=dict(type='GeneralizedAttention', in_channels=256, spatial_range=-1, num_heads=6,
                          attention_type='0100', kv_stride=2)),
        mask_roi_extractor=dict(
            type='GenericRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=2),
            out_channels=256,
            featmap_strides=[4, 8, 16, 32],
            pre_cfg=dict(type='ConvModule', in_channels=256, out_channels=256, kernel_size=5, padding=2,
                         inplace=False),
            post_cfg=dict(type='GeneralizedAttention', in_channels=256, spatial_range=-1, num_heads=6,
                          attention_type='0100', kv_stride=2))))
