"""Sliced testing: a test-time wrapper that runs its detector tile by tile on each (large) image
of a dataset and merges the tiles' detections (:func:`~mmcascade.slicing.inference_sliced`),
so that ``tools/test.py --slice`` evaluates and writes the merged results as any other run."""

from typing import Any

import numpy as np
from mmengine.config import Config
from mmengine.model import BaseTTAModel

from mmcascade.config.pipelines import test_pipeline_steps
from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample

from .driver import inference_sliced
from .tiles import SliceSettings


@MODELS.register_module()
class SlicedDetector(BaseTTAModel):
    """Run ``module`` on tiles of each image and merge the detections in the image's frame.

    The dataset's pipeline only loads and packs the original image (``uint8`` BGR, not resized);
    each tile then goes through ``tile_pipeline`` (the config's test pipeline, starting from an
    array) like any image. Being a ``BaseTTAModel``, checkpoints load into ``module`` directly.

    Args:
        module: the detector (config or module).
        tile_pipeline: the test pipeline steps each tile goes through.
        settings: :class:`~mmcascade.slicing.SliceSettings` by name (``slice_size``, ``overlap``,
            ``merge``...; an unknown one is refused by name).
    """

    def __init__(
        self, module: dict, tile_pipeline: list[dict], data_preprocessor: dict | None = None, **settings: Any
    ) -> None:
        super().__init__(module=module, data_preprocessor=data_preprocessor)
        self.tile_pipeline = [dict(s) for s in tile_pipeline]
        self.settings = SliceSettings.from_options(**settings)

    def test_step(self, data: dict) -> list[DetDataSample]:
        """``data``: the dataloader's batch of packed original images (``inputs``: ``(3, H, W)``
        uint8 BGR tensors) and their samples; returns the samples with merged ``pred_instances``."""
        out = []
        for img, sample in zip(data["inputs"], data["data_samples"]):
            bgr = np.ascontiguousarray(img.permute(1, 2, 0).cpu().numpy())
            result = inference_sliced(self.module, bgr, self.settings, test_pipeline=self.tile_pipeline)
            sample.pred_instances = result.pred_instances
            sample.set_metainfo(dict(num_tiles=result.metainfo["num_tiles"]))
            out.append(sample)
        return out

    def merge_preds(self, data_samples_list: list) -> list:
        raise NotImplementedError("SlicedDetector merges inside test_step")


def sliced_test_settings(cfg: Config, settings: SliceSettings) -> tuple[dict, list]:
    """``(model, pipeline)`` for ``tools/test.py --slice``: a :class:`SlicedDetector` around the
    config's model whose tiles go through the test pipeline, and a dataset pipeline that loads
    and packs each image as it is (no resize, the loader's ``backend_args`` kept).

    Args:
        settings: the tiles and the merging.

    Raises:
        ValueError: the test pipeline does not start by loading the image from a file.
    """
    tiles = test_pipeline_steps(cfg)  # the test pipeline without LoadAnnotations
    if not tiles or not str(tiles[0].get("type", "")).endswith("LoadImageFromFile"):
        raise ValueError(f"--slice: the test pipeline must start with LoadImageFromFile, it starts with {tiles[:1]}")
    pack = dict(type="PackDetInputs", meta_keys=("img_id", "img_path", "ori_shape", "img_shape"))
    model = dict(type="SlicedDetector", module=cfg.model, tile_pipeline=tiles, **settings.as_options())
    return model, [tiles[0], pack]
