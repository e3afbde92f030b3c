"""The two published model-zoo tables (OpenMMLab's Cascade R-CNN page and the author's Detectron
tables) as facts -- names, numbers and URLs per row -- kept in ``tests/data/zoo_page_facts.json``,
so that a test can compare the manifest with them row by row without the manifest's own code."""

import json
from dataclasses import dataclass, field
from pathlib import Path

FACTS = Path(__file__).resolve().parent.parent / "data" / "zoo_page_facts.json"


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


def _rows(page: str) -> list[SeedRow]:
    return [SeedRow(**row) for row in json.loads(FACTS.read_text(encoding="utf-8"))[page]]


def openmmlab_rows() -> list[SeedRow]:
    """Rows of OpenMMLab's v2.0 Cascade R-CNN / Cascade Mask R-CNN tables (``memory_gb``,
    ``inference_fps``, ``box_ap``, ``mask_ap``; model and log links)."""
    return _rows("openmmlab")


def detectron_rows() -> list[SeedRow]:
    """Rows of the author's Detectron tables (box / mask AP, AP50, AP75; model links); a
    ``[no TTA]`` row is the row above evaluated without test-time augmentation."""
    return _rows("detectron")


def ms3x_rows() -> list[dict]:
    """OpenMMLab's multi-scale 3x Cascade Mask R-CNN rows (MMDetection's cascade_rcnn metafile):
    ``name``, ``backbone``, ``style``, ``numbers`` (``memory_gb``, ``box_ap``, ``mask_ap``), model link."""
    return json.loads(FACTS.read_text(encoding="utf-8"))["openmmlab_ms3x"]
