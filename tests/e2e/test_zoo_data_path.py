"""Every model-zoo config on data in COCO 2017's layout, with only ``data_root`` changed: the
train / val / test dataloaders are built exactly as the Runner builds them, one batch goes
through each pipeline, and the evaluator scores ground truth given as predictions."""

import glob
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner
from mmengine.structures import InstanceData
from pycocotools.coco import COCO

from mmcascade.config.checks import check_config_types
from mmcascade.config.classes import LOADERS, check_config_classes
from mmcascade.config.loading import load_tool_config
from mmcascade.structures import DetDataSample, PolygonMasks
from mmcascade.zoo import load_manifest

from helpers import REPO
from helpers.coco_layout import write_coco2017

ZOO = sorted(str(entry.config_path) for entry in load_manifest().values())


@pytest.fixture(scope="module")
def coco_root(tmp_path_factory) -> str:
    return write_coco2017(str(tmp_path_factory.mktemp("coco")))


def test_every_zoo_row_is_covered():
    assert len(ZOO) == len(set(ZOO)) == 75
    assert set(ZOO) >= set(glob.glob(osp.join(REPO, "configs", "cascade_rcnn", "*.py")))


def _expected_boxes(coco: COCO, sample: DetDataSample, in_input_frame: bool) -> np.ndarray:
    anns = [a for a in coco.imgToAnns[sample.img_id] if not a["iscrowd"]]
    boxes = np.array(
        [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]] for a in anns],
        np.float32,
    ).reshape(-1, 4)
    if not in_input_frame:
        return boxes
    sx, sy = sample.scale_factor
    boxes = boxes * np.array([sx, sy, sx, sy], np.float32)
    if sample.metainfo.get("flip"):
        w = sample.img_shape[1]
        boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
    return boxes


def _check_batch(batch: dict, coco: COCO, training: bool, with_mask: bool, cropped: bool) -> None:
    """``cropped``: the training pipeline may crop (the Swin / ConvNeXt rows), so training boxes
    are checked to lie in the image rather than against the rescaled annotations."""
    assert batch["inputs"] and len(batch["inputs"]) == len(batch["data_samples"])
    for img, sample in zip(batch["inputs"], batch["data_samples"]):
        h, w = sample.img_shape
        assert img.shape == (3, h, w) and img.dtype in (torch.uint8, torch.float32)
        oh, ow = sample.ori_shape
        assert (coco.imgs[sample.img_id]["height"], coco.imgs[sample.img_id]["width"]) == (oh, ow)
        assert max(h, w) > max(oh, ow)  # upscaled to the config's scale (the images are small)
        got = sample.gt_instances.bboxes.numpy()
        if not (training and cropped):
            assert sample.scale_factor == pytest.approx((w / ow, h / oh), rel=1e-6)
            np.testing.assert_allclose(got, _expected_boxes(coco, sample, training), atol=1e-3)
        if training:
            assert (got[:, 0::2] <= w + 1e-3).all() and (got[:, 1::2] <= h + 1e-3).all()
            n_crowd = sum(a["iscrowd"] for a in coco.imgToAnns[sample.img_id])
            assert len(sample.ignored_instances) == n_crowd or cropped
            if with_mask:
                masks = sample.gt_instances.masks
                assert (len(masks), masks.height, masks.width) == (len(got), h, w)
                # each mask lies in its box up to rounding: a pixel, or polygons' extents against the
                # annotation's box, an original pixel scaled up
                tol = 2 + (max(sample.scale_factor) if isinstance(masks, PolygonMasks) else 0)
                mask_boxes = masks.get_bboxes()
                assert (mask_boxes[:, :2] >= got[:, :2] - tol).all() and (mask_boxes[:, 2:] <= got[:, 2:] + tol).all()


def _ground_truth_as_predictions(coco: COCO, classes: tuple[str, ...], with_mask: bool) -> list[DetDataSample]:
    label_of = {coco.getCatIds(catNms=[n])[0]: i for i, n in enumerate(classes)}
    samples = []
    for img_id, img in coco.imgs.items():
        anns = [a for a in coco.imgToAnns[img_id] if not a["iscrowd"]]
        pred = InstanceData(
            bboxes=torch.tensor(
                [[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]] for a in anns],
                dtype=torch.float32,
            ).reshape(-1, 4),
            scores=torch.ones(len(anns)),
            labels=torch.tensor([label_of[a["category_id"]] for a in anns]),
        )
        if with_mask:
            masks = [coco.annToMask(a).astype(bool) for a in anns]
            empty = np.zeros((0, img["height"], img["width"]), bool)
            pred.masks = torch.from_numpy(np.stack(masks) if masks else empty)
        samples.append(DetDataSample(metainfo=dict(img_id=img_id), pred_instances=pred))
    return samples


@pytest.mark.parametrize("path", ZOO, ids=lambda p: osp.basename(p)[:-3])
def test_zoo_config_runs_on_coco_layout_data(path, coco_root):
    cfg = load_tool_config(path, {"data_root": coco_root})
    check_config_types(cfg)
    check_config_classes(cfg)
    with_mask = "mask_head" in cfg.model.roi_head
    for loader in LOADERS:
        dataset_cfg = cfg[loader].dataset
        while "dataset" in dataset_cfg:  # a wrapper (RepeatDataset of the multi-scale 3x rows)
            dataset_cfg = dataset_cfg.dataset
        assert dataset_cfg.data_root == coco_root
    assert cfg.val_evaluator.ann_file == coco_root + "annotations/instances_val2017.json"
    for loader in LOADERS:
        dataloader = Runner.build_dataloader(cfg[loader], seed=0)
        training = loader == "train_dataloader"
        ann = "train2017" if training else "val2017"
        coco = COCO(osp.join(coco_root, "annotations", f"instances_{ann}.json"))
        cropped = "RandomCrop" in str(cfg.train_dataloader.dataset)
        _check_batch(next(iter(dataloader)), coco, training, with_mask, cropped)
    dataset = dataloader.dataset
    assert len(dataset) == 3 and dataset.metainfo["classes"][0] == "person"
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    evaluator.process(_ground_truth_as_predictions(coco, dataset.metainfo["classes"], with_mask))
    metrics = evaluator.evaluate(len(coco.imgs))
    assert metrics["coco/bbox_mAP"] == 1.0
    assert (metrics.get("coco/segm_mAP") == 1.0) == with_mask
