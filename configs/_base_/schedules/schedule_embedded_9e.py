# The embedded main job's budget: 9 epochs, 100-iteration warm-up, lr x0.1 after epochs 7 and 8,
# gradient clipping (training from scratch), one evaluation at the end.
_base_ = './schedule_1x.py'

train_cfg = dict(max_epochs=9, val_interval=9)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=9, by_epoch=True, milestones=[7, 8], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.02), clip_grad=dict(max_norm=10, norm_type=2))
