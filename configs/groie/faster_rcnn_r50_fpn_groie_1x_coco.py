# Faster R-CNN with GRoIE, ResNet-50 + FPN, 12 epochs on COCO (Rossi et al., ICPR 2020): every RoI
# pooled from all four FPN levels, each level through a 5x5 conv, summed, then a spatial
# self-attention block (mmcv's GeneralizedAttention), instead of one level chosen by RoI size.
_base_ = [
    '../_base_/models/faster-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
groie_extractor = dict(
    type='GenericRoIExtractor',
    aggregation='sum',
    roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=2),
    out_channels=256,
    featmap_strides=[4, 8, 16, 32],
    pre_cfg=dict(type='ConvModule', in_channels=256, out_channels=256, kernel_size=5, padding=2, inplace=False),
    post_cfg=dict(type='GeneralizedAttention', in_channels=256, spatial_range=-1, num_heads=6,
                  attention_type='0100', kv_stride=2))
model = dict(roi_head=dict(bbox_roi_extractor=groie_extractor))
