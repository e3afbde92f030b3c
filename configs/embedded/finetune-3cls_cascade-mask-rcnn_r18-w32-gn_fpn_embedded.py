# Fine-tuning on your own classes, shown on the embedded data: start from the main job's
# checkpoint (5 shapes) and train on three of them. The same three steps fit a zoo config on
# your own COCO-format dataset (README, "Train on your own data").
_base_ = './cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py'

# 1. The classes, once: every stage's box and mask head and every dataset follow.
classes = ('rectangle', 'ellipse', 'triangle')

# 2. Where the weights come from: a file, an http(s) URL or a model-zoo name. The classifier
#    layers, which have another size here, are re-initialised (the log says which).
load_from = 'work_dirs/cascade-mask-rcnn_r18-w32-gn_fpn_embedded/epoch_9.pth'

# 3. A short schedule at a lower learning rate (tools/train.py --auto-scale-lr scales it
#    by the batch you really use).
train_cfg = dict(max_epochs=3, val_interval=3)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=20),
    dict(type='MultiStepLR', begin=0, end=3, by_epoch=True, milestones=[2], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.01))
