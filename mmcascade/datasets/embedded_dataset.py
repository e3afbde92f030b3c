"""``EmbeddedShapesDataset``: the embedded default, generated on first use, no download."""

import os
import os.path as osp
import shutil
import tempfile

from mmcascade.registry import DATASETS

from .coco import CocoDataset, DatasetError
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


def _refuse_foreign(root: str) -> None:
    if osp.isdir(root) and os.listdir(root) and not _is_complete(root):
        raise DatasetError(
            f"{root}: the embedded dataset would be generated here, but the folder already holds "
            f"files it did not write ({', '.join(sorted(os.listdir(root))[:5])}...). Nothing was "
            f"changed; point data_root at an empty or missing folder."
        )
    if osp.exists(root) and not osp.isdir(root):
        raise DatasetError(f"{root}: data_root of the embedded dataset is a file, not a folder")


def _generate_once(root: str, spec: EmbeddedSpec) -> None:
    """Generate into a temporary folder beside ``root`` and rename it into place; a folder that
    is not empty and was not written by this generator is never touched."""
    if _is_complete(root):
        return
    _refuse_foreign(root)
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".embedded-", dir=parent)
    try:
        ensure_embedded_dataset(tmp, spec)
        for _ in range(3):  # another process may finish first, or create the folder meanwhile
            if _is_complete(root):
                return
            _refuse_foreign(root)
            if osp.isdir(root):
                try:
                    os.rmdir(root)  # an empty folder: take its place
                except OSError:
                    continue
            try:
                os.rename(tmp, root)
                return
            except OSError:
                continue
        raise DatasetError(f"{root}: could not put the generated embedded dataset in place")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
