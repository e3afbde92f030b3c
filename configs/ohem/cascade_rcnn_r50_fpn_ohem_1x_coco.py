# Cascade R-CNN (ResNet-50 + FPN, 12 epochs) with online hard example mining in every stage:
# each stage keeps the RoIs its own box head classifies worst.
_base_ = '../cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py'
model = dict(train_cfg=dict(rcnn=[dict(stage, sampler=dict(stage['sampler'], type='OHEMSampler'))
                                  for stage in _base_.model.train_cfg.rcnn]))
