"""One-line inference: ``init_detector`` (config / zoo name + checkpoint path / URL / zoo name)
and ``inference_detector`` (image paths or BGR arrays in, ``DetDataSample`` out)."""

import copy
import os
import warnings
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from mmcascade.datasets.coco_classes import make_palette
from mmcascade.registry import DATASETS, MODELS
from mmcascade.structures import DetDataSample
from mmcascade.utils import default_device, register_all_modules
from mmcascade.utils.memory import release_free_memory
from mmcascade.zoo.resolve import resolve_checkpoint

from .checkpoint import (
    CheckpointError,
    class_names_from_meta,
    classes_mismatch,
    extract_state_dict,
    install_state_dict,
    read_checkpoint,
)

ImageInput = str | os.PathLike | np.ndarray


def resolve_config(config: str | os.PathLike | Config) -> Config:
    """A ``Config`` from a Config, a config file path, or a model-zoo name."""
    if isinstance(config, Config):
        return copy.deepcopy(config)
    from mmcascade.zoo import find_config

    return Config.fromfile(str(find_config(config)))


def config_class_names(cfg: Config) -> tuple[str, ...] | None:
    """Class names the config's test dataset declares (its ``metainfo`` or its type's default)."""
    dataset = cfg.get("test_dataloader", {}).get("dataset", {})
    meta = dataset.get("metainfo") or {}
    if meta.get("classes"):
        return tuple(meta["classes"])
    dataset_cls = DATASETS.get(dataset.get("type", "")) if dataset.get("type") else None
    classes = getattr(dataset_cls, "METAINFO", {}).get("classes")
    return tuple(classes) if classes else None


def model_num_classes(model: nn.Module) -> int | None:
    """Number of foreground classes of the (last) box head."""
    heads = [m for m in model.modules() if hasattr(m, "fc_cls") and hasattr(m, "num_classes")]
    return int(heads[-1].num_classes) if heads else None


def _check_classes(model: nn.Module, classes: Sequence[str] | None, source: str) -> None:
    expected = model_num_classes(model)
    if classes is not None and expected is not None and len(classes) != expected:
        raise CheckpointError(classes_mismatch(source, len(classes), expected, classes))


def dataset_meta(classes: Sequence[str] | None) -> dict:
    """``model.dataset_meta``: the class names and a palette of one colour per class."""
    return {"classes": classes, "palette": make_palette(len(classes or ()) or 1)}


def init_detector(
    config: str | os.PathLike | Config,
    checkpoint: str | os.PathLike | None = None,
    device: str | None = None,
    cfg_options: dict | None = None,
    bf16: bool = False,
    backend: str | None = None,
    **download_kwargs,
) -> nn.Module:
    """Build a detector in eval mode, load its weights and attach ``dataset_meta``.

    Args:
        config: config file, ``Config`` or model-zoo name (``'cascade_rcnn_r50_fpn_1x_coco'``).
        checkpoint: local file, URL or model-zoo name; ``None`` keeps random weights (a warning).
            Detectron ``.pkl`` files are converted on the fly.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``...; default ``'cuda'`` when available.
        bf16: predict under bfloat16 autocast (``model.inference_dtype='bfloat16'``): faster on
            CPUs with bf16 instructions and on GPUs; box decoding, NMS and masks stay float32.
        backend: ``'onnxruntime'`` or ``'openvino'`` to run an exported ``.onnx`` file (``mmcascade
            export``) instead of PyTorch: the same preprocessing, outputs and mask pasting
            (:class:`~mmcascade.deploy.BackendDetector`); a ``.onnx`` checkpoint alone means
            ``'onnxruntime'``. The file's classes and test settings must match the config's.
        download_kwargs: passed to the downloader (``offline``, ``allow_http``, ``mirror``...).

    Class names come from the checkpoint (newer ``meta['dataset_meta']['classes']`` or v2.0
    ``meta['CLASSES']``), else from the config's dataset; ``model.dataset_meta`` holds them
    with a palette. A checkpoint for another number of classes is refused with an explanation.
    """
    register_all_modules(init_default_scope=True)
    cfg = resolve_config(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if backend is not None or str(checkpoint or "").endswith(".onnx"):
        return _init_backend(cfg, checkpoint, backend or "onnxruntime", device, bf16)
    model_cfg = copy.deepcopy(cfg.model)
    if model_cfg.get("backbone", {}).get("init_cfg"):
        model_cfg.backbone.init_cfg = None  # the checkpoint supplies every weight
    if bf16:
        model_cfg.inference_dtype = "bfloat16"
    model = MODELS.build(model_cfg)
    classes = None
    if checkpoint is None:
        warnings.warn("init_detector: no checkpoint, the model has random weights", stacklevel=2)
    else:
        path = resolve_checkpoint(checkpoint, **download_kwargs)
        if path.suffix == ".pkl":
            from mmcascade.converters.detectron import detector_state_from_pkl

            state, classes = detector_state_from_pkl(path, model), None
        else:
            ckpt = read_checkpoint(str(path))
            classes = class_names_from_meta(ckpt)
            _check_classes(model, classes, str(path))
            state = extract_state_dict(ckpt)
        install_state_dict(model, state, str(path))
    classes = classes or config_class_names(cfg)
    if classes is not None:
        _check_classes(model, classes, "the config's dataset")
    model.dataset_meta = dataset_meta(classes)
    model.cfg = cfg
    model = model.to(device or default_device()).eval()
    release_free_memory()  # the checkpoint's copy of the weights
    return model


def backend_model_cfg(cfg: Config, model_file: str, backend: str) -> dict:
    """The model config that runs ``model_file`` (an exported ``.onnx``) in ``backend`` with the
    config's data preprocessor, test settings and classes."""
    return dict(
        type="BackendDetector",
        model_file=model_file,
        backend=backend,
        data_preprocessor=copy.deepcopy(cfg.model.get("data_preprocessor")),
        test_cfg=copy.deepcopy(cfg.model.get("test_cfg")),
        classes=config_class_names(cfg),
    )


def _init_backend(cfg: Config, checkpoint, backend: str, device: str | None, bf16: bool) -> nn.Module:
    if checkpoint is None or not str(checkpoint).endswith(".onnx"):
        raise ValueError(f"backend={backend!r} runs an exported .onnx file (mmcascade export), got {checkpoint!r}")
    if bf16:
        raise ValueError(f"bf16 is a PyTorch setting; the {backend} backend runs the exported float32 file")
    if device not in (None, "cpu"):
        raise ValueError(f"the {backend} backend runs on the CPU (device={device!r})")
    model = MODELS.build(backend_model_cfg(cfg, str(checkpoint), backend))
    classes = model.metadata.get("classes") or config_class_names(cfg)
    model.dataset_meta = dataset_meta(classes)
    model.cfg = cfg
    return model.eval()


def test_pipeline_steps(cfg: Config) -> list[dict]:
    """The config's test pipeline without ``LoadAnnotations`` (inference has no annotations)."""
    steps = copy.deepcopy(list(cfg.test_dataloader.dataset.pipeline))
    return [dict(s) for s in steps if s["type"] not in ("LoadAnnotations", "mmcascade.LoadAnnotations")]


def _test_pipeline(steps: list[dict], from_array: bool) -> Compose:
    steps = copy.deepcopy(steps)
    if from_array:
        steps[0] = dict(type="LoadImageFromNDArray")
    return Compose(steps)


def check_image_array(img: np.ndarray, name: str = "image") -> None:
    """An array given to :func:`inference_detector` must be what ``cv2.imread`` returns:
    ``(H, W, 3)`` uint8 BGR, values 0-255.

    Raises:
        ValueError: for another dtype (a float image in [0, 1] or a 16-bit image would reach the
            model far too dark or too bright) or another number of channels, with the conversion
            to use.
    """
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating):
            hint = (
                "for a float image in [0, 1] use (img * 255).round().astype(np.uint8); "
                "for one in [0, 255] use img.round().clip(0, 255).astype(np.uint8)"
            )
        elif img.dtype == np.uint16:
            hint = "for a 16-bit image use (img >> 8).astype(np.uint8) or rescale it to 0-255"
        else:
            hint = "convert it to uint8 values 0-255"
        raise ValueError(f"{name}: expected a uint8 BGR array (as cv2.imread returns), got dtype {img.dtype}; {hint}")
    if img.ndim != 3 or img.shape[2] != 3:
        shape = tuple(img.shape)
        if img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
            hint = "for a grayscale image use cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)"
        elif img.ndim == 3 and img.shape[2] == 4:
            hint = "for BGRA drop the alpha channel: img[..., :3]"
        else:
            hint = "give an (H, W, 3) BGR image"
        raise ValueError(f"{name}: expected shape (H, W, 3), got {shape}; {hint}")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"{name}: the image is empty ({img.shape[0]}x{img.shape[1]} pixels, height x width)")


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


def run_test_pipeline(
    model: nn.Module, items: Sequence[ImageInput], batch_size: int, steps: list[dict]
) -> list[DetDataSample]:
    """Each image (path or checked BGR array) through the test pipeline ``steps`` and
    ``model.test_step``, ``batch_size`` at a time; one ``DetDataSample`` per image, in order."""
    results: list[DetDataSample] = []
    pipelines = {}
    for start in range(0, len(items), batch_size):
        batch = []
        for item in items[start : start + batch_size]:
            from_array = isinstance(item, np.ndarray)
            if from_array not in pipelines:
                pipelines[from_array] = _test_pipeline(steps, from_array)
            data = dict(img=item, img_id=0) if from_array else dict(img_path=str(item), img_id=0)
            packed = pipelines[from_array](data)
            if packed is None:
                raise ValueError(f"could not read image {item if not from_array else '(array)'}")
            batch.append(packed)
        results.extend(model.test_step(pseudo_collate(batch)))
        if next(model.parameters(), torch.empty(0)).device.type == "cpu":  # (an exported model has none)
            release_free_memory()  # so that the next batch's peak does not start higher
    return results
