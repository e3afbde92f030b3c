# The main job's model tested on large images of many small shapes (4 images of 2048x1536 with
# about 220 objects each, generated on first use into data/embedded_large/): the case sliced
# inference is for. Test it whole (each image shrunk to the test scale) and tile by tile:
#   mmcascade test THIS_CONFIG CHECKPOINT
#   mmcascade test THIS_CONFIG CHECKPOINT --slice 256x192
# (tiles of the embedded images' size, at the scale the model was trained on).
_base_ = './cascade-mask-rcnn_r18-w32-gn_fpn_embedded.py'

large_root = 'data/embedded_large/'
test_dataloader = dict(
    batch_size=1,
    dataset=dict(
        _delete_=True,
        type='LargeShapesDataset',
        data_root=large_root,
        ann_file='annotations/val.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_evaluator = dict(ann_file=large_root + 'annotations/val.json')

# Up to 300 detections per view (the images hold about 220 objects each); sliced testing keeps
# every detection left after merging the tiles.
model = dict(test_cfg=dict(rcnn=dict(max_per_img=300)))
