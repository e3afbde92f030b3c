"""``EmbeddedShapesDataset``: the embedded default, generated on first use, no download."""
import os
import os.path as osp
import shutil
import tempfile

from mmcascade.registry import DATASETS

from .coco import CocoDataset
from .coco_classes import make_palette
from .embedded import CLASSES, EmbeddedSpec, ensure_embedded_dataset


@DATASETS.register_module()
class EmbeddedShapesDataset(CocoDataset):
    """A :class:`CocoDataset` over ``data_root`` that first generates the shapes dataset there
    if it is missing. Generation goes to a temporary folder renamed into place, so several
    processes (distributed ranks, dataloader workers) never see a half-written copy.

    Args:
        spec: ``EmbeddedSpec`` fields as a dict (sizes and seed).
    """

    METAINFO = dict(classes=CLASSES, palette=make_palette(len(CLASSES)))

    def __init__(self, *args, spec: dict | None = None, **kwargs) -> None:
        self.spec = EmbeddedSpec(**(spec or {}))
        root = kwargs.get("data_root") or "data/embedded"
        _generate_once(root, self.spec)
        super().__init__(*args, **kwargs)


def _is_complete(root: str) -> bool:
    """A finished copy carries the marker file that ``ensure_embedded_dataset`` writes last."""
    return osp.isdir(root) and any(f.startswith(".complete") for f in os.listdir(root))


def _generate_once(root: str, spec: EmbeddedSpec) -> None:
    if _is_complete(root):
        return
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".embedded-", dir=parent)
    try:
        ensure_embedded_dataset(tmp, spec)
        try:
            os.rename(tmp, root)
        except OSError:  # another process finished first, or root exists but is incomplete
            if not _is_complete(root):
                shutil.rmtree(root, ignore_errors=True)
                os.rename(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
