"""mmengine's checkpoint loading (``load_from``, ``resume``, ``init_cfg=dict(type='Pretrained')``,
``torchvision://``, ``open-mmlab://``) routed through :func:`mmcascade.zoo.resolve.resolve_checkpoint`
and :func:`mmcascade.checkpoint.read_checkpoint`: local paths, http(s) URLs and model-zoo
names work alike, downloads are cached, resumed and hash-checked, and files are unpickled with
``weights_only=True``. Importing this module registers the schemes (overriding mmengine's)."""

from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import get_deprecated_model_names, get_external_models

from mmcascade.checkpoint import read_checkpoint
from mmcascade.zoo.resolve import resolve_checkpoint


def _is_pretrained_backbone(url: str) -> bool:
    return "download.pytorch.org/models/" in url or "/pretrain/" in url


@CheckpointLoader.register_scheme(prefixes="", force=True)
def load_from_local(filename: str, map_location=None) -> dict:
    """A local file, or a model-zoo name (its published checkpoint, downloaded once)."""
    return read_checkpoint(str(resolve_checkpoint(filename, purpose="checkpoint")), map_location)


@CheckpointLoader.register_scheme(prefixes=("http://", "https://"), force=True)
def load_from_http(filename: str, map_location=None) -> dict:
    """An http(s) URL through the verified download cache (every rank may call it: a file lock
    lets one process download while the others wait for the finished file)."""
    purpose = "pretrained weights (init_cfg)" if _is_pretrained_backbone(filename) else "checkpoint"
    return read_checkpoint(str(resolve_checkpoint(filename, purpose=purpose)), map_location)


@CheckpointLoader.register_scheme(prefixes=("open-mmlab://", "openmmlab://"), force=True)
def load_from_openmmlab(filename: str, map_location=None) -> dict:
    """OpenMMLab's named pretrained backbones (``open-mmlab://detectron2/resnet50_caffe``...)."""
    name = filename.split("://", 1)[1]
    name = get_deprecated_model_names().get(name, name)
    urls = get_external_models()
    if name not in urls:
        raise KeyError(f"{filename}: unknown OpenMMLab model name; known: {sorted(urls)[:10]}...")
    return load_from_http(urls[name], map_location)
