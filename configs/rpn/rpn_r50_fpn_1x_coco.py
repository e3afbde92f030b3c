# RPN, ResNet-50 + FPN, 12 epochs on COCO, evaluated by proposal recall (AR@100 / 300 / 1000).
# To write its proposals for Fast R-CNN, test with
#   test_evaluator = [dict(type='DumpProposals', output_dir='data/coco/proposals/',
#                          proposals_file='rpn_r50_fpn_1x_val2017.pkl'),
#                     dict(type='CocoMetric', ann_file=..., metric='proposal_fast')]
# (and the training images as test_dataloader for the training proposals).
_base_ = [
    '../_base_/models/rpn_r50_fpn.py',
    '../_base_/datasets/coco_detection.py',
    '../_base_/schedules/schedule_1x.py',
    '../_base_/default_runtime.py',
]
val_evaluator = dict(metric='proposal_fast')
test_evaluator = val_evaluator
