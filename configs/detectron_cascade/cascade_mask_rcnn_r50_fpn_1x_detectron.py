# The author's Detectron Cascade Mask R-CNN R-50-FPN (seed 000): the Detectron baseline's settings
# with three stages, and the author's three differences from OpenMMLab switched on.
_base_ = [
    '../_base_/models/cascade-mask-rcnn_r50_fpn.py',
    '../_base_/datasets/coco_instance.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]

model = dict(
    data_preprocessor=dict(mean=[103.530, 116.280, 123.675], std=[1.0, 1.0, 1.0], bgr_to_rgb=False),
    backbone=dict(
        style='caffe',
        norm_cfg=dict(requires_grad=False),
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    roi_head=dict(
        test_ensemble='last_rois_probs',
        resample_later_stages=False,
        compensate_stage_grads=True,
        bbox_roi_extractor=dict(roi_layer=dict(aligned=False, sampling_ratio=2)),
        mask_roi_extractor=dict(roi_layer=dict(aligned=False, sampling_ratio=2))))
