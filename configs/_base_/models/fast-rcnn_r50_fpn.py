# Fast R-CNN (ResNet-50 + FPN): Faster R-CNN's box head on precomputed proposals (no RPN); the
# datasets give each image's proposals (proposal_file, LoadProposals).
_base_ = './faster-rcnn_r50_fpn.py'
model = dict(
    type='FastRCNN',
    rpn_head=None,
    train_cfg=dict(_delete_=True, rcnn={{_base_.model.train_cfg.rcnn}}),
    test_cfg=dict(_delete_=True, rcnn={{_base_.model.test_cfg.rcnn}}))
