"""Read the two model-zoo pages in ../shared/seeds/ into plain rows, independently of the
manifest code, so that a test can compare the manifest with them row by row."""
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"


@dataclass
class SeedRow:
    table: str
    backbone: str
    style: str | None
    kind: str  # 'Faster' / 'Mask' (Detectron) or the OpenMMLab table title
    schedule: str
    numbers: dict[str, float | None]
    links: dict[str, str] = field(default_factory=dict)
    images_per_gpu: int | None = None


def _number(text: str) -> float | None:
    text = text.strip()
    return None if text in ("", "-") else float(text)


def seed_file(prefix: str) -> Path:
    matches = sorted(SEEDS.glob(f"{prefix}_*.txt"))
    if not matches:
        raise FileNotFoundError(f"no seed {prefix}_*.txt in {SEEDS}")
    return matches[0]


def openmmlab_rows() -> list[SeedRow]:
    """Rows of seed 001 (OpenMMLab v2.0 Markdown tables)."""
    rows, table = [], None
    for line in seed_file("001").read_text(encoding="utf-8").splitlines():
        if line.startswith("### "):
            table = line[4:].strip()
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or cells[0] in ("Backbone", "") or cells[0].startswith(":"):
            continue
        links = dict((m[0], m[1]) for m in re.findall(r"\[(\w+)\]\(([^)]+)\)", line))
        has_mask = table == "Cascade Mask R-CNN"
        numbers = {"memory_gb": _number(cells[3]), "inference_fps": _number(cells[4]),
                   "box_ap": _number(cells[5])}
        if has_mask:
            numbers["mask_ap"] = _number(cells[6])
        rows.append(SeedRow(table, cells[0], cells[1], table, cells[2], numbers, links))
    return rows


def _cells(tr: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)]


def detectron_rows() -> list[SeedRow]:
    """Rows of seed 000 (the author's Detectron HTML tables); a row reading
    "[above without test-time aug.]" takes backbone, type, schedule and im/gpu from the row above."""
    text = seed_file("000").read_text(encoding="utf-8")
    rows = []
    for title, body in re.findall(r"### ([^\n]+)\n(.*?)</tbody>", text, flags=re.S):
        previous = None
        for tr in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S):
            cells = _cells(tr)
            links = dict((name, url) for url, name in re.findall(r'<a href="([^"]+)">(\w+)</a>', tr))
            keys = ["box_ap", "box_ap50", "box_ap75", "mask_ap", "mask_ap50", "mask_ap75"]
            numbers = {k: _number(v) for k, v in zip(keys, cells[4:10])}
            if cells[0].startswith("[above without"):
                row = SeedRow(title.strip(), previous.backbone + " [no TTA]", None, previous.kind,
                              previous.schedule, numbers, links, previous.images_per_gpu)
            else:
                row = SeedRow(title.strip(), cells[0], None, cells[1], cells[2], numbers, links,
                              int(cells[3]))
                previous = row
            rows.append(row)
    return rows
