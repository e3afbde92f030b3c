"""Render manifest entries: a terminal table for ``model_zoo.py list`` and the Markdown of
``model_zoo/README.md``."""

from terminaltables import AsciiTable

from .manifest import ZooEntry

SOURCES = {
    "openmmlab-v2.0": "OpenMMLab v2.0 model zoo (COCO 2017 val)",
    "detectron-cascade": "The author's Detectron implementation (COCO 2014 minival)",
    "openmmlab-v2.0-ms3x": "Beyond the original tables: OpenMMLab's multi-scale 3x Cascade Mask R-CNN (COCO 2017 val)",
    "mmdetection-3.3-backbones": (
        "MMDetection 3.3's cascade rows on other backbones: RegNet, HRNet, ResNeSt, Res2Net, DCN, ConvNeXt "
        "(COCO 2017 val)"
    ),
    "swin-official": ("Swin Transformer's own detection repository (COCO 2017 val; checkpoints converted when read)"),
}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def list_table(entries: list[ZooEntry]) -> str:
    """A terminaltables table of ``entries``: name, detector, backbone, schedule, APs, link."""
    rows = [["name", "detector", "backbone", "style", "schd", "box AP", "mask AP", "link"]]
    for e in entries:
        rows.append(
            [e.name, e.detector, e.backbone, e.style, e.schedule, _fmt(e.box_ap), _fmt(e.mask_ap), e.link_status]
        )
    table = AsciiTable(rows, title=f" {len(entries)} model(s) ")
    table.inner_footing_row_border = False
    return table.table


def show_text(entry: ZooEntry) -> str:
    """Every field of ``entry``, one per line."""
    lines = [f"{k:<24}{v}" for k, v in vars(entry).items() if v is not None]
    return "\n".join(lines)


def _md_row(e: ZooEntry) -> str:
    links = [f"[model]({e.checkpoint_url})"]
    links += [
        f"[{label}]({url})"
        for label, url in (("log", e.log_url), ("boxes", e.boxes_url), ("masks", e.masks_url))
        if url
    ]
    flag = "" if e.link_status == "as-published" else f" ({e.link_status}¹)"
    cells = [
        f"`{e.name}`",
        e.detector,
        e.backbone,
        e.style,
        e.schedule,
        str(e.images_per_gpu),
        _fmt(e.memory_gb),
        _fmt(e.inference_fps),
        _fmt(e.box_ap),
        _fmt(e.box_ap50),
        _fmt(e.box_ap75),
        _fmt(e.mask_ap),
        _fmt(e.mask_ap50),
        _fmt(e.mask_ap75),
        " \\| ".join(links) + flag,
        f"[config](../{e.config})",
    ]
    return "| " + " | ".join(cells) + " |"


def readme_markdown(entries: list[ZooEntry]) -> str:
    """The text of ``model_zoo/README.md``."""
    out = [
        "# Model zoo",
        "",
        "Generated from `manifest.yaml` by `python tools/model_zoo.py readme`; do not edit by hand.",
        "Metrics are COCO AP (%) as published. `tools/model_zoo.py download NAME` fetches and",
        "verifies a checkpoint; `init_detector(NAME, NAME)` builds and loads it.",
        "",
    ]
    header = (
        "| name | detector | backbone | style | schd | im/gpu | mem (GB) | fps | box AP | AP50 | AP75 "
        "| mask AP | AP50 | AP75 | download | config |"
    )
    for source, title in SOURCES.items():
        rows = [e for e in entries if e.source == source]
        out += [f"## {title}", "", header, "|" + "---|" * 16]
        out += [_md_row(e) for e in rows]
        out.append("")
    flagged = [e for e in entries if e.link_status != "as-published"]
    if flagged:
        out += ["¹ Rows whose published link is not their own model:", ""]
        out += [f"- `{e.name}` ({e.link_status}): {e.note}" for e in flagged]
        out.append("")
    return "\n".join(out)
