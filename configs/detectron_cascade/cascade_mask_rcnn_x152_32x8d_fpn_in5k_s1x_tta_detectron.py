_base_ = ['./cascade_mask_rcnn_x152_32x8d_fpn_in5k_s1x_detectron.py', '../_base_/tta.py']

# The "bells & whistles" row with test-time augmentation (tools/test.py --tta): Detectron's scales
# 400 to 1200 (short side, long side up to 2000) and horizontal flip, merged by NMS.
tta_scales = [(2000, s) for s in (400, 500, 600, 700, 800, 900, 1000, 1100, 1200)]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[
             [dict(type='Resize', scale=s, keep_ratio=True) for s in tta_scales],
             [dict(type='RandomFlip', prob=1.0), dict(type='RandomFlip', prob=0.0)],
             [dict(type='LoadAnnotations', with_bbox=True)],
             [dict(type='PackDetInputs',
                   meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                              'flip_direction'))],
         ])
]
