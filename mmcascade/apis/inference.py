"""One-line inference: ``init_detector`` (config / zoo name + checkpoint path / URL / zoo name)
and ``inference_detector`` (image paths or BGR arrays in, ``DetDataSample`` out)."""

import copy
import os
import re
import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config

from mmcascade.checkpoint import (
    CheckpointError,
    class_names_from_meta,
    classes_mismatch,
    extract_state_dict,
    install_state_dict,
    read_checkpoint,
)
from mmcascade.config.class_names import COCO_CLASSES, COCO_PALETTE, make_palette
from mmcascade.config.classes import config_class_names
from mmcascade.config.loading import resolve_config
from mmcascade.config.pipelines import test_pipeline_steps
from mmcascade.config.sync_bn import single_process_norms
from mmcascade.converters.detectron import detector_state_from_pkl
from mmcascade.deploy.backend_detector import backend_model_cfg
from mmcascade.deploy.contract import default_backend, is_exported_file
from mmcascade.engine.inference_loop import ImageInput, check_image_array, run_test_pipeline
from mmcascade.registry import MODELS
from mmcascade.structures import DetDataSample
from mmcascade.utils import default_device, register_all_modules
from mmcascade.utils.memory import release_free_memory
from mmcascade.visualization.palette import get_palette
from mmcascade.zoo.resolve import resolve_checkpoint


def model_num_classes(model: nn.Module) -> int | None:
    """Number of foreground classes of the (last) box head."""
    heads = [m for m in model.modules() if hasattr(m, "fc_cls") and hasattr(m, "num_classes")]
    return int(heads[-1].num_classes) if heads else None


def _check_classes(model: nn.Module, classes: Sequence[str] | None, source: str) -> None:
    expected = model_num_classes(model)
    if classes is not None and expected is not None and len(classes) != expected:
        raise CheckpointError(classes_mismatch(source, len(classes), expected, classes))


def dataset_meta(classes: Sequence[str] | None, palette: str | Sequence | None = None) -> dict:
    """``model.dataset_meta``: the class names and their palette: ``palette`` when given (a spec
    :func:`~mmcascade.visualization.palette.get_palette` reads: ``'random'``, ``'coco'``, a colour
    list...), else COCO's colours for COCO's classes (as MMDetection's ``CocoDataset``), else one
    distinct colour per class."""
    if palette is None:
        palette = list(COCO_PALETTE) if tuple(classes or ()) == COCO_CLASSES else make_palette(len(classes or ()) or 1)
    return {"classes": classes, "palette": palette}


def init_detector(
    config: str | os.PathLike | Config,
    checkpoint: str | os.PathLike | None = None,
    palette: str = "none",
    device: str | None = None,
    cfg_options: dict | None = None,
    bf16: bool = False,
    backend: str | None = None,
    allow_other_architecture: bool = False,
    **download_kwargs,
) -> nn.Module:
    """Build a detector in eval mode, load its weights and attach ``dataset_meta``.

    Args:
        config: config file, ``Config`` or model-zoo name (``'cascade_rcnn_r50_fpn_1x_coco'``).
        checkpoint: local file, URL or model-zoo name; ``None`` keeps random weights (a warning).
            Detectron ``.pkl`` files are converted on the fly.
        palette: the colours of ``model.dataset_meta['palette']``: ``'none'`` (default: COCO's for
            COCO's classes, else one distinct colour per class), or a spec the visualiser resolves
            (``'random'``, ``'coco'``, ``'voc'``, ``'citys'``, a colour name), as MMDetection's.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``...; default ``'cuda'`` when available.
        bf16: predict under bfloat16 autocast (``model.inference_dtype='bfloat16'``): faster on
            CPUs with bf16 instructions and on GPUs; box decoding, NMS and masks stay float32.
        backend: ``'onnxruntime'`` or ``'openvino'`` to run an exported ``.onnx`` file (``mmcascade
            export``) instead of PyTorch: the same preprocessing, outputs and mask pasting
            (:class:`~mmcascade.deploy.BackendDetector`); a ``.onnx`` checkpoint alone means
            ``'onnxruntime'``. The file's classes and test settings must match the config's, and
            its recorded architecture too unless ``allow_other_architecture``.
        download_kwargs: passed to the downloader (``offline``, ``allow_http``, ``mirror``...).

    Class names come from the checkpoint (newer ``meta['dataset_meta']['classes']`` or v2.0
    ``meta['CLASSES']``), else from the config's dataset; ``model.dataset_meta`` holds them
    with a palette. A checkpoint for another number of classes is refused with an explanation.
    """
    _check_palette(palette)
    register_all_modules(init_default_scope=True)
    cfg = resolve_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if backend is not None or is_exported_file(checkpoint):
        backend = backend or default_backend(checkpoint)
        exported = _init_backend(cfg, checkpoint, backend, device, bf16, allow_other_architecture)
        if palette != "none":
            exported.dataset_meta["palette"] = palette
        return exported
    model = MODELS.build(_inference_model_cfg(cfg, bf16))
    classes = _load_weights(model, checkpoint, download_kwargs)
    classes = classes or config_class_names(cfg)
    if classes is not None:
        _check_classes(model, classes, "the config's dataset")
    model.dataset_meta = dataset_meta(classes, None if palette == "none" else palette)
    model.cfg = cfg
    model = model.to(device or default_device()).eval()
    release_free_memory()  # the checkpoint's copy of the weights
    return model


def _inference_model_cfg(cfg: Config, bf16: bool) -> Config:
    """The config's model for inference: no pretrained download (the checkpoint supplies every
    weight), bf16 autocast when asked, and MMSyncBN as BN (one process)."""
    model_cfg = copy.deepcopy(cfg.model)
    if model_cfg.get("backbone", {}).get("init_cfg"):
        model_cfg.backbone.init_cfg = None
    if bf16:
        model_cfg.inference_dtype = "bfloat16"
    single_process_norms(model_cfg)
    return model_cfg


def _check_palette(palette: str | Sequence | tuple) -> None:
    """Refuse a palette spec the visualiser could not draw with, before any work; a device name
    there is a call written for another argument order (``palette`` is third, as MMDetection's)."""
    if palette == "none":
        return
    if isinstance(palette, str) and re.fullmatch(r"(cpu|cuda|mps|xpu|npu)(:\d+)?", palette):
        raise ValueError(
            f"init_detector: palette={palette!r} looks like a device; the third argument is the "
            f"palette, as in MMDetection: pass device={palette!r}"
        )
    get_palette(palette, 1)  # raises naming what is wrong


def _load_weights(
    model: nn.Module, checkpoint: str | os.PathLike | None, download_kwargs: dict
) -> Sequence[str] | None:
    """Load ``checkpoint`` into ``model`` (strict); the class names it records, if any."""
    if checkpoint is None:
        warnings.warn("init_detector: no checkpoint, the model has random weights", stacklevel=3)
        return None
    path = resolve_checkpoint(checkpoint, **download_kwargs)
    classes = None
    if path.suffix == ".pkl":
        state = detector_state_from_pkl(path, model)
    else:
        ckpt = read_checkpoint(str(path))
        classes = class_names_from_meta(ckpt)
        _check_classes(model, classes, str(path))
        state = extract_state_dict(ckpt)
    install_state_dict(model, state, str(path))
    return classes


def _init_backend(
    cfg: Config, checkpoint, backend: str, device: str | None, bf16: bool, allow_other_architecture: bool
) -> nn.Module:
    if not is_exported_file(checkpoint):
        raise ValueError(
            f"backend={backend!r} runs an exported .onnx or OpenVINO .xml file (mmcascade export), got {checkpoint!r}"
        )
    if bf16:
        raise ValueError(f"bf16 is a PyTorch setting; the {backend} backend runs the exported file as it is")
    if device not in (None, "cpu"):
        raise ValueError(f"the {backend} backend runs on the CPU (device={device!r})")
    model = MODELS.build(backend_model_cfg(cfg, str(checkpoint), backend, allow_other_architecture))
    classes = model.metadata.get("classes") or config_class_names(cfg)
    model.dataset_meta = dataset_meta(classes)
    model.cfg = cfg
    return model.eval()


@torch.no_grad()
def inference_detector(
    model: nn.Module, imgs: ImageInput | Sequence[ImageInput], batch_size: int = 1
) -> DetDataSample | list[DetDataSample]:
    """Detect objects in one image or a list of images.

    Args:
        imgs: file path(s) or ``(H, W, 3)`` uint8 BGR array(s) (other dtypes or channel counts
            are refused, see :func:`check_image_array`).
    Returns:
        One ``DetDataSample`` per image (a single one for a single input), with
        ``pred_instances.bboxes (K, 4)`` float32 xyxy pixels of the original image, ``scores
        (K,)``, ``labels (K,)`` and, for mask models, ``masks (K, H, W)`` bool.
    """
    single = isinstance(imgs, (str, os.PathLike, np.ndarray))
    items = [imgs] if single else list(imgs)
    for i, item in enumerate(items):
        if isinstance(item, np.ndarray):
            check_image_array(item, "image" if single else f"image {i}")
    results = run_test_pipeline(model, items, batch_size, test_pipeline_steps(model.cfg))
    return results[0] if single else results
