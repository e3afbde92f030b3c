"""Sliced testing: a test-time wrapper that runs its detector tile by tile on each (large) image
of a dataset and merges the tiles' detections (:func:`~mmcascade.apis.sliced.inference_sliced`),
so that ``tools/test.py --slice`` evaluates and writes the merged results as any other run."""

import numpy as np
from mmengine.model import BaseTTAModel

from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample


@MODELS.register_module()
class SlicedDetector(BaseTTAModel):
    """Run ``module`` on tiles of each image and merge the detections in the image's frame.

    The dataset's pipeline only loads and packs the original image (``uint8`` BGR, not resized);
    each tile then goes through ``tile_pipeline`` (the config's test pipeline, starting from an
    array) like any image. Being a ``BaseTTAModel``, checkpoints load into ``module`` directly.

    Args:
        module: the detector (config or module).
        tile_pipeline: the test pipeline steps each tile goes through.
        settings: :func:`~mmcascade.apis.sliced.inference_sliced`'s ``slice_size``, ``overlap``,
            ``merge_iou_thr``, ``full_image``, ``batch_size``, ``max_per_img``, ``merge`` and
            ``match_metric`` (an unknown one is refused by name).
    """

    def __init__(
        self, module: dict, tile_pipeline: list[dict], data_preprocessor: dict | None = None, **settings
    ) -> None:
        from mmcascade.apis.sliced import slice_settings

        super().__init__(module=module, data_preprocessor=data_preprocessor)
        self.tile_pipeline = [dict(s) for s in tile_pipeline]
        self.options = slice_settings(**settings)

    def test_step(self, data: dict) -> list[DetDataSample]:
        """``data``: the dataloader's batch of packed original images (``inputs``: ``(3, H, W)``
        uint8 BGR tensors) and their samples; returns the samples with merged ``pred_instances``."""
        from mmcascade.apis.sliced import inference_sliced

        out = []
        for img, sample in zip(data["inputs"], data["data_samples"]):
            bgr = np.ascontiguousarray(img.permute(1, 2, 0).cpu().numpy())
            result = inference_sliced(self.module, bgr, test_pipeline=self.tile_pipeline, **self.options)
            sample.pred_instances = result.pred_instances
            sample.set_metainfo(dict(num_tiles=result.metainfo["num_tiles"]))
            out.append(sample)
        return out

    def merge_preds(self, data_samples_list: list) -> list:
        raise NotImplementedError("SlicedDetector merges inside test_step")
