# 12 epochs over a 3x-repeated training set (36 passes), lr x0.1 after epochs 9 and 11 (passes 27
# and 33), 500-iteration linear warm-up; batch 16 (8 GPUs x 2).
_base_ = './schedule_1x.py'

param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True, milestones=[9, 11], gamma=0.1)
]
