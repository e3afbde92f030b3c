# The author's Detectron Cascade Faster R-CNN R-50-FPN (seed 000): the Detectron baseline's settings
# with three stages, and the author's three differences from OpenMMLab switched on.
# Its backbone and input settings are those of the OpenMMLab caffe-style row.
_base_ = '../cascade_rcnn/cascade_rcnn_r50_caffe_fpn_1x_coco.py'

model = dict(
    roi_head=dict(
        test_ensemble='last_rois_probs',
        resample_later_stages=False,
        compensate_stage_grads=True,
        bbox_roi_extractor=dict(roi_layer=dict(aligned=False, sampling_ratio=2))))
