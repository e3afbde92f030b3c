# Cascade R-CNN with GRoIE in every stage, ResNet-50 + FPN, 12 epochs on COCO: each stage's RoIs
# pooled from all FPN levels by its own GenericRoIExtractor (5x5 conv per level, sum, attention).
# Compare with faster_rcnn_r50_fpn_groie_1x_coco.py and cascade_rcnn_r50_fpn_1x_coco.py.
_base_ = [
    '../_base_/models/cascade-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
model = dict(
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
                          attention_type='0100', kv_stride=2))))
