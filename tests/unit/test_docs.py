"""The user documentation: every relative link of README.md, CONTRIBUTING.md and docs/*.md points
at a file (and heading) that exists, and no page speaks of the project's internal bookkeeping."""

import re
from pathlib import Path

import pytest

from helpers import REPO

ROOT = Path(REPO)
PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown page."""
    out = set()
    for line in page.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^#+\s+(.*)$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(slug)
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page):
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z]+://", target) or target.startswith("mailto:"):
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(target)
    assert not broken, f"{page.name}: broken links {broken}"


def test_docs_cover_the_user_topics_and_not_the_bookkeeping():
    names = {p.name for p in (ROOT / "docs").glob("*.md")}
    assert {
        "get_started.md",
        "train_own_data.md",
        "configs.md",
        "model_zoo.md",
        "tools.md",
        "benchmarks.md",
        "reliability.md",
        "changelog.md",
    } <= names
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in names:
        assert f"docs/{page}" in readme, f"README does not link docs/{page}"
    for page in PAGES:
        text = page.read_text(encoding="utf-8").lower()
        for word in (
            "issue ",
            "issues ",
            "the brief",
            "seed table",
            "../shared",
            "wheels-device",
            "development machine",
            "this was written on",
            "no gpu machine",
            "the main job",
            "two commands",
        ):
            assert word not in text, f"{page.name} mentions {word!r}"
