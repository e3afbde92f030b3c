# The "stretched" 1x of Detectron's longer schedules: 1.44x (about 17 epochs), steps at 1.44x of 8 and 11.
_base_ = './schedule_1x.py'

train_cfg = dict(max_epochs=17)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=17, by_epoch=True, milestones=[12, 16], gamma=0.1)
]
