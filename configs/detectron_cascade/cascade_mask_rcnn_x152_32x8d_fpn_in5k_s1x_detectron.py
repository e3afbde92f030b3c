_base_ = './cascade_mask_rcnn_r50_fpn_1x_detectron.py'

# X-152-32x8d pre-trained on ImageNet-5k, the stretched 1.44x schedule, 1 image per GPU. Detectron's
# ImageNet-5k weights are a Caffe2 pickle: convert them to a state_dict first and point init_cfg at it.
# ResNeXt in Detectron strides in the 3x3 conv (pytorch style); the converted Caffe2 weights keep the
# caffe-style BGR input of the base config.
model = dict(
    backbone=dict(
        type='ResNeXt',
        style='pytorch',
        depth=152,
        groups=32,
        base_width=8,
        init_cfg=dict(type='Pretrained', checkpoint='data/pretrained/X-152-32x8d-IN5k.pth')))
train_dataloader = dict(batch_size=1)
optim_wrapper = dict(optimizer=dict(lr=0.01))
train_cfg = dict(max_epochs=17)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='MultiStepLR', begin=0, end=17, by_epoch=True, milestones=[12, 16], gamma=0.1)
]
