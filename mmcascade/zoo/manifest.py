"""The model-zoo manifest (``model_zoo/manifest.yaml``): one typed entry per row of the two
published tables, each tied to a config of this repository."""

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path

import yaml


def resource_root() -> Path:
    """The folder holding ``configs/`` and ``model_zoo/``: the source checkout (run from it or
    installed with ``pip install -e .``), else the copy a built package carries in
    ``mmcascade/.mim/`` (``setup.py`` puts it there)."""
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "model_zoo" / "manifest.yaml").is_file():
        return checkout
    return Path(__file__).resolve().parents[1] / ".mim"


def find_config(name: str | os.PathLike) -> Path:
    """The config file ``name`` stands for: an existing file; a path relative to the shipped
    ``configs/`` folder (``embedded/x.py``, ``configs/embedded/x.py``); a config's file name with or
    without ``.py``; or a model-zoo name (its manifest entry's config).

    Raises:
        FileNotFoundError: none of these, with the closest config names.
    """
    path = Path(name)
    if path.is_file():
        return path
    configs = resource_root() / "configs"
    text = str(name)
    for candidate in (configs / text, resource_root() / text, configs / f"{text}.py"):
        if candidate.is_file():
            return candidate
    stem = path.name[:-3] if path.name.endswith(".py") else path.name
    matches = sorted(p for p in configs.rglob(f"{stem}.py") if "_base_" not in p.parts)
    if len(matches) == 1:
        return matches[0]
    try:
        return get_entry(text).config_path
    except ManifestError:
        pass
    import difflib

    names = sorted({p.stem for p in configs.rglob("*.py") if "_base_" not in p.parts})
    close = difflib.get_close_matches(stem, names, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `mmcascade configs` lists them"
    where = f" (several: {', '.join(str(m.relative_to(configs)) for m in matches)})" if matches else ""
    raise FileNotFoundError(f"{text!r} is not a config file, a shipped config or a model-zoo name{where}{hint}")


REPO_ROOT = resource_root()
DEFAULT_MANIFEST = REPO_ROOT / "model_zoo" / "manifest.yaml"

LINK_STATUSES = {
    "as-published": "the link is the checkpoint of this row",
    "baseline-checkpoint": "the published link is a Detectron baseline checkpoint, not this row's model",
    "inherited": "the row has no link of its own; it is the row above evaluated differently (same weights)",
}
TASKS = ("detection", "instance_segmentation")
CHECKPOINT_FORMATS = {
    "pytorch": "an MMDetection checkpoint (.pth) in this toolbox's layout",
    "caffe2-pkl": "a Detectron pickle, converted when loaded",
    "swin-official": "Swin Transformer's detection repository's layout, converted to ours whenever it is read",
}
METRIC_KEYS = ("box_ap", "box_ap50", "box_ap75", "mask_ap", "mask_ap50", "mask_ap75")


class ManifestError(ValueError):
    """The manifest file is malformed, or a name is not in it."""


@dataclass(frozen=True)
class ZooEntry:
    """One model-zoo row. Metrics are COCO AP in percent; ``None`` where the table gives none."""

    name: str
    config: str  # path relative to the repository root (or mmcascade/.mim/)
    source: str  # a key of mmcascade.zoo.tables.SOURCES
    table: str  # the table of the source page the row comes from
    detector: str  # 'Cascade R-CNN', 'Cascade Mask R-CNN', 'Faster R-CNN', 'Mask R-CNN'
    task: str  # one of TASKS
    backbone: str  # as printed in the table, e.g. 'R-50-FPN'
    style: str  # 'pytorch' or 'caffe'
    schedule: str  # '1x', '20e', '3x' (multi-scale), 's1x'
    images_per_gpu: int
    test_time_augmentation: bool
    eval_set: str
    checkpoint_url: str
    checkpoint_format: str  # one of CHECKPOINT_FORMATS
    link_status: str  # one of LINK_STATUSES
    hash_prefix: str | None = None  # sha256 prefix embedded in the file name
    memory_gb: float | None = None
    inference_fps: float | None = None
    box_ap: float | None = None
    box_ap50: float | None = None
    box_ap75: float | None = None
    mask_ap: float | None = None
    mask_ap50: float | None = None
    mask_ap75: float | None = None
    log_url: str | None = None
    boxes_url: str | None = None
    masks_url: str | None = None
    note: str | None = None
    mmdet_name: str | None = None  # MMDetection 3's name of the row (its metafile's), where v3_name differs
    mmdet_config: str | None = None  # MMDetection 3's config file of the row, relative to its repository

    @property
    def config_path(self) -> Path:
        return REPO_ROOT / self.config

    @property
    def has_mask(self) -> bool:
        return self.task == "instance_segmentation"

    def metrics(self) -> dict[str, float | None]:
        return {k: getattr(self, k) for k in METRIC_KEYS}

    @property
    def aliases(self) -> list[str]:
        """Other names the row answers to: MMDetection 3's spelling (:func:`v3_name`, or the
        metafile's ``mmdet_name`` and its config file's name)."""
        mmdet_stem = self.mmdet_config and self.mmdet_config.rsplit("/", 1)[-1][: -len(".py")]
        names = [v3_name(self.name), self.mmdet_name, mmdet_stem]
        return [n for n in dict.fromkeys(names) if n and n != self.name]


def _validate(entry: ZooEntry, where: str) -> None:
    if entry.task not in TASKS:
        raise ManifestError(f"{where}: task {entry.task!r} is not one of {TASKS}")
    if entry.checkpoint_format not in CHECKPOINT_FORMATS:
        raise ManifestError(
            f"{where}: checkpoint_format {entry.checkpoint_format!r} is not one of {sorted(CHECKPOINT_FORMATS)}"
        )
    if entry.link_status not in LINK_STATUSES:
        raise ManifestError(f"{where}: link_status {entry.link_status!r} is not one of {sorted(LINK_STATUSES)}")
    if entry.link_status != "as-published" and not entry.note:
        raise ManifestError(f"{where}: link_status {entry.link_status!r} needs a 'note' saying why")
    prefix = entry.hash_prefix
    if prefix is not None and not (
        isinstance(prefix, str) and len(prefix) >= 6 and all(c in "0123456789abcdef" for c in prefix)
    ):
        raise ManifestError(
            f"{where}: hash_prefix {entry.hash_prefix!r} is not a lowercase hex prefix "
            f"(quote it in YAML when it is all digits)"
        )


def load_manifest(path: str | os.PathLike | None = None) -> dict[str, ZooEntry]:
    """Entries by name, in file order. ``path`` defaults to ``$MMCASCADE_MANIFEST`` or the
    repository's ``model_zoo/manifest.yaml``.

    Raises:
        ManifestError: naming the file, the entry and the field that is wrong.
    """
    path = Path(path or os.environ.get("MMCASCADE_MANIFEST") or DEFAULT_MANIFEST)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    records = data.get("models") if isinstance(data, dict) else None
    if not isinstance(records, list):
        raise ManifestError(f"{path}: expected a top-level 'models:' list")
    known = {f.name for f in fields(ZooEntry)}
    entries: dict[str, ZooEntry] = {}
    for i, record in enumerate(records):
        where = f"{path}: models[{i}] ({record.get('name', '?') if isinstance(record, dict) else '?'})"
        if not isinstance(record, dict):
            raise ManifestError(f"{where}: expected a mapping")
        extra = set(record) - known
        if extra:
            raise ManifestError(f"{where}: unknown field(s) {sorted(extra)}")
        try:
            entry = ZooEntry(**record)
        except TypeError as exc:
            raise ManifestError(f"{where}: {exc}") from exc
        _validate(entry, where)
        if entry.name in entries:
            raise ManifestError(f"{where}: duplicate name {entry.name!r}")
        entries[entry.name] = entry
    return entries


_V3_DETECTORS = (
    ("cascade_mask_rcnn", "cascade-mask-rcnn"),
    ("cascade_rcnn", "cascade-rcnn"),
    ("faster_rcnn", "faster-rcnn"),
    ("mask_rcnn", "mask-rcnn"),
)


def v3_name(name: str) -> str:
    """MMDetection 3's spelling of a v2-style name: hyphens inside the detector and backbone
    fields (``cascade_mask_rcnn_x101_32x4d_fpn_20e_coco`` -> ``cascade-mask-rcnn_x101-32x4d_fpn_20e_coco``,
    ``cascade_rcnn_r50_caffe_fpn_1x_coco`` -> ``cascade-rcnn_r50-caffe_fpn_1x_coco``), and
    ``ms-3x`` for the multi-scale schedule (``..._fpn_mstrain_3x_coco`` -> ``..._fpn_ms-3x_coco``)."""
    for old, new in _V3_DETECTORS:
        if name.startswith(old + "_"):
            name = new + name[len(old) :]
            break
    name = name.replace("_mstrain_3x_", "_ms-3x_")
    name = re.sub(r"_(r\d+)_caffe_", r"_\1-caffe_", name)
    return re.sub(r"_(x\d+)_(\d+x\d+d)_", r"_\1-\2_", name)


def get_entry(name: str, manifest: dict[str, ZooEntry] | None = None) -> ZooEntry:
    """The entry called ``name``, in the v2 spelling of the tables or MMDetection 3's
    (:func:`v3_name`); a trailing ``.py`` is ignored."""
    manifest = manifest if manifest is not None else load_manifest()
    key = name[:-3] if name.endswith(".py") else name
    if key in manifest:
        return manifest[key]
    aliases = {alias: n for n, e in manifest.items() for alias in e.aliases}
    if key in aliases:
        return manifest[aliases[key]]
    import difflib

    close = difflib.get_close_matches(key, list(manifest), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ManifestError(f"{name!r} is not a model-zoo name{hint} (see `tools/model_zoo.py list`)")


def filter_entries(
    entries: dict[str, ZooEntry],
    backbone: str | None = None,
    task: str | None = None,
    schedule: str | None = None,
    source: str | None = None,
) -> list[ZooEntry]:
    """Entries whose backbone contains ``backbone`` (case-insensitive) and whose task,
    schedule and source equal the given ones."""
    out = []
    for e in entries.values():
        if backbone and backbone.lower() not in e.backbone.lower():
            continue
        if task and e.task != task:
            continue
        if schedule and e.schedule != schedule:
            continue
        if source and e.source != source:
            continue
        out.append(e)
    return out
