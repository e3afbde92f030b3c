"""``EmbeddedShapesDataset``: the embedded default, generated on first use, no download."""

import os
import os.path as osp
import shutil
import tempfile
from collections.abc import Callable

from mmcascade.config.class_names import make_palette
from mmcascade.registry import DATASETS

from .coco import CocoDataset, DatasetError
from .embedded import CLASSES, EmbeddedSpec, ensure_embedded_dataset, generate_large_split


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
        _generate_once(root, lambda tmp: ensure_embedded_dataset(tmp, self.spec))
        super().__init__(*args, **kwargs)


@DATASETS.register_module()
class LargeShapesDataset(CocoDataset):
    """Large images of many small shapes, the embedded dataset's objects at their own scale
    (aerial-like; :func:`~mmcascade.datasets.embedded.generate_large_split`), generated on first
    use into ``data_root`` as ``val/*.png`` and ``annotations/val.json``: data for sliced inference.

    Args:
        num_images: how many images.
        size: ``(height, width)`` of each image.
        objects_per_mpix: shapes per million pixels.
        seed: generator seed.
    """

    METAINFO = dict(classes=CLASSES, palette=make_palette(len(CLASSES)))

    def __init__(
        self,
        *args,
        num_images: int = 4,
        size: tuple[int, int] = (1536, 2048),
        objects_per_mpix: float = 70.0,
        seed: int = 2000,
        **kwargs,
    ) -> None:
        root = kwargs.get("data_root") or "data/embedded_large"

        def generate(tmp: str) -> None:
            generate_large_split(tmp, "val", num_images, tuple(size), objects_per_mpix, seed)
            with open(osp.join(tmp, f".complete-large-seed{seed}-{num_images}"), "w") as f:
                f.write("ok\n")

        _generate_once(root, generate)
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


def _generate_once(root: str, generate: Callable[[str], object]) -> None:
    """``generate(folder)`` into a temporary folder beside ``root``, renamed into place; a folder
    that is not empty and was not written by a generator (no ``.complete*`` marker, which
    ``generate`` writes last) is never touched."""
    if _is_complete(root):
        return
    _refuse_foreign(root)
    parent = osp.dirname(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".embedded-", dir=parent)
    try:
        generate(tmp)
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
