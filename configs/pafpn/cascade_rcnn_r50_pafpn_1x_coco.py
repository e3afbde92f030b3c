# Cascade R-CNN, ResNet-50 with PAFPN (Liu et al., PANet, CVPR 2018: the FPN plus a bottom-up path
# that shortens the way from the fine levels to the coarse ones), 12 epochs on COCO; compare with
# cascade_rcnn_r50_fpn_1x_coco.py and faster_rcnn_r50_pafpn_1x_coco.py.
_base_ = '../cascade_rcnn/cascade_rcnn_r50_fpn_1x_coco.py'
model = dict(neck=dict(type='PAFPN', in_channels=[256, 512, 1024, 2048], out_channels=256, num_outs=5))
