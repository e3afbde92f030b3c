"""An exported file behind the model interface the tools use (``test_step`` -> ``DetDataSample``).

``dict(type='BackendDetector', model_file='m.onnx', backend='onnxruntime' | 'openvino',
data_preprocessor=..., test_cfg=...)`` is what ``init_detector(CONFIG, 'm.onnx', backend=...)``
and ``mmcascade test CONFIG m.onnx --backend ...`` build: the config's test pipeline and data
preprocessor run in Python as for the PyTorch model, the file computes the detections, and masks
are pasted by the same function as the PyTorch model's
(:func:`~mmcascade.models.roi_heads.detections.with_pasted_masks`).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence

import numpy as np
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import Tensor

from mmcascade.config.classes import config_class_names
from mmcascade.models.roi_heads.detections import with_pasted_masks
from mmcascade.registry import MODELS
from mmcascade.structures import SampleList

from .contract import MASK_OUTPUT, architecture, graph_inputs, graph_test_cfg, read_metadata
from .runtimes import Runtime, check_backend


class BackendMismatchError(ValueError):
    """An exported file does not match the config it is used with."""


def check_file_matches(
    path: str | os.PathLike,
    metadata: dict,
    test_cfg: dict | None,
    classes: Sequence[str] | None,
    model_architecture: dict | None = None,
    allow_other_architecture: bool = False,
) -> None:
    """Refuse a file whose architecture (unless ``allow_other_architecture``), classes or in-graph
    test settings differ from the config's, naming both."""
    if not metadata.get("test_cfg"):
        raise BackendMismatchError(f"{path}: no mmcascade metadata (export it with mmcascade export)")
    exported_arch = metadata.get("architecture")
    if model_architecture and exported_arch and exported_arch != model_architecture and not allow_other_architecture:
        differ = [k for k in model_architecture if exported_arch.get(k) != model_architecture[k]]
        raise BackendMismatchError(
            f"{path}: exported from {metadata.get('config') or 'another config'} "
            f"({', '.join(f'{k}={exported_arch.get(k)}' for k in differ)}), but the config builds "
            f"{', '.join(f'{k}={model_architecture[k]}' for k in differ)}: the results would be another "
            "model's. Use the config the file was exported from (allow_other_architecture=True, "
            "--allow-other-architecture, to run it anyway)"
        )
    if test_cfg is not None:
        expected = graph_test_cfg(test_cfg)
        for part in ("rpn", "rcnn"):
            if metadata["test_cfg"].get(part) != expected[part]:
                raise BackendMismatchError(
                    f"{path}: exported with test_cfg.{part} = {metadata['test_cfg'].get(part)}, but the "
                    f"config has {expected[part]}; export again with this config or test with the one "
                    "the file was exported from"
                )
    exported = metadata.get("classes")
    if classes is not None and exported is not None and list(classes) != list(exported):
        raise BackendMismatchError(
            f"{path}: exported for {len(exported)} classes {tuple(exported)[:5]}..., but the config's "
            f"dataset has {len(classes)} classes {tuple(classes)[:5]}..."
        )


@MODELS.register_module()
class BackendDetector(BaseModel):
    """Runs an exported detector (``mmcascade export``) in ONNX Runtime or OpenVINO.

    Args:
        model_file: the ``.onnx`` file.
        backend: ``'onnxruntime'`` or ``'openvino'``.
        data_preprocessor: the config's (normalisation and padding happen before the file).
        test_cfg: the config's ``model.test_cfg``: its in-graph settings must equal the file's;
            ``rcnn.mask_thr_binary`` and ``rcnn.mask_format`` are applied here.
        classes: the config's class names, checked against the file's (optional).
        num_threads: the runtime's threads (default: its own choice).
        architecture: the config's :func:`~mmcascade.deploy.contract.architecture`, checked
            against the file's unless ``allow_other_architecture``.
    """

    def __init__(
        self,
        model_file: str,
        backend: str = "onnxruntime",
        data_preprocessor: dict | None = None,
        test_cfg: dict | None = None,
        classes: Sequence[str] | None = None,
        num_threads: int | None = None,
        architecture: dict | None = None,
        allow_other_architecture: bool = False,
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        check_backend(backend)
        self.metadata = read_metadata(model_file)
        check_file_matches(model_file, self.metadata, test_cfg, classes, architecture, allow_other_architecture)
        self.model_file = str(model_file)
        self.backend = backend
        self.runtime = Runtime(model_file, backend, num_threads)
        # the RoI head's test settings: mask_thr_binary and mask_format apply here, the rest
        # (in the graph) is read by sliced inference's merging
        self.rcnn_test_cfg = dict((test_cfg or {}).get("rcnn") or {})
        self.file_batch = int(self.metadata.get("batch_size", 1))
        shape = self.metadata.get("input_shape")
        self.input_shape = tuple(shape) if shape else None

    @property
    def with_mask(self) -> bool:
        return bool(self.metadata.get("with_mask"))

    def forward(self, inputs: Tensor, data_samples: SampleList | None = None, mode: str = "predict"):
        if mode != "predict":
            raise RuntimeError(f"an exported model ({self.model_file}) only predicts; mode {mode!r} needs PyTorch")
        return self.predict(inputs, data_samples)

    def predict(
        self, inputs: Tensor, data_samples: SampleList, rescale: bool = True, mask_format: str | None = None
    ) -> SampleList:
        """Adds ``pred_instances`` (original-image frame) to each sample; ``mask_format`` overrides
        ``test_cfg.rcnn.mask_format`` for this call.

        Raises:
            ValueError: ``rescale=False`` (the file returns original-image boxes)."""
        if not rescale:
            raise ValueError(f"{self.model_file} returns boxes in the original image only (rescale=True)")
        metas = [s.metainfo for s in data_samples]
        batch = self._fixed_shape(inputs)
        n = batch.shape[0]
        if self.file_batch == 1:
            chunks = [(i, i + 1) for i in range(n)]  # each image of the padded batch on its own
        elif n == self.file_batch:
            chunks = [(0, n)]
        else:
            raise ValueError(
                f"{self.model_file} was exported for batches of {self.file_batch} images, got {n}; "
                "export with --batch-size 1 to run any batch"
            )
        for start, stop in chunks:
            out = self.runtime(graph_inputs(batch[start:stop], metas[start:stop]))
            for i in range(start, stop):
                sample = data_samples[i]
                sample.pred_instances = self._instances(out, i - start, metas[i], mask_format)
        return data_samples

    def _fixed_shape(self, inputs: Tensor) -> Tensor:
        if self.input_shape is None:
            return inputs
        h, w = inputs.shape[-2:]
        if h > self.input_shape[0] or w > self.input_shape[1]:
            raise ValueError(
                f"{self.model_file} takes {self.input_shape[0]}x{self.input_shape[1]} inputs; this batch "
                f"is {h}x{w} after the test pipeline (export with a dynamic shape or resize smaller)"
            )
        return torch.nn.functional.pad(inputs, (0, self.input_shape[1] - w, 0, self.input_shape[0] - h))

    def _instances(self, out: dict[str, np.ndarray], image: int, meta: dict, mask_format: str | None) -> InstanceData:
        rows = out["batch_ids"] == image
        det = InstanceData(
            bboxes=torch.from_numpy(out["bboxes"][rows]),
            scores=torch.from_numpy(out["scores"][rows]),
            labels=torch.from_numpy(out["labels"][rows]),
        )
        if not self.with_mask:
            return det
        probs = torch.from_numpy(out[MASK_OUTPUT][rows])
        cfg = self.rcnn_test_cfg
        return with_pasted_masks(
            det,
            probs,
            meta,
            True,
            float(cfg.get("mask_thr_binary", 0.5)),
            mask_format or cfg.get("mask_format", "auto"),
        )


def backend_model_cfg(cfg: Config, model_file: str, backend: str, allow_other_architecture: bool = False) -> dict:
    """The model config that runs ``model_file`` (an exported ``.onnx``) in ``backend`` with the
    config's data preprocessor, test settings and classes (and its architecture to check)."""
    return dict(
        type="BackendDetector",
        model_file=model_file,
        backend=backend,
        data_preprocessor=copy.deepcopy(cfg.model.get("data_preprocessor")),
        test_cfg=copy.deepcopy(cfg.model.get("test_cfg")),
        classes=config_class_names(cfg),
        architecture=architecture(cfg.model),
        allow_other_architecture=allow_other_architecture,
    )
