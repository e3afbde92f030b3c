"""Every command the README and the docs show (``mmcascade ...``, ``python tools/...``,
``python demo/...``, ``python benchmarks/...``) names a tool that exists and only options that
tool accepts: each is checked against the tool's own ``--help``."""

import re
import shlex
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

from helpers import REPO

PAGES = [Path(REPO, "README.md"), *sorted(Path(REPO, "docs").glob("*.md"))]
FLAG = re.compile(r"--[a-z][a-z0-9-]*")


def documented_commands() -> list[tuple[str, list[str]]]:
    """``(page, words)`` of each command line in the pages' bash blocks (continuations joined,
    comments and pipes cut, ``VAR=value`` prefixes dropped)."""
    out = []
    for page in PAGES:
        in_bash, pending = False, ""
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("```"):
                in_bash, pending = line.strip() == "```bash", ""
                continue
            if not in_bash:
                continue
            text = pending + " " + line.split(" #")[0]
            if text.rstrip().endswith("\\"):
                pending = text.rstrip()[:-1]
                continue
            pending = ""
            text = text.split("|")[0].replace("[", " ").replace("]", " ")
            try:
                words = shlex.split(text)
            except ValueError:
                continue
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words = words[1:]
            if words[:1] == ["mmcascade"] or (
                words[:1] == ["python"] and len(words) > 1 and words[1].split("/")[0] in ("tools", "demo", "benchmarks")
            ):
                out.append((page.name, words))
    return out


@cache
def help_text(*prefix: str) -> str:
    cmd = (
        [sys.executable, "-m", "mmcascade", *prefix[1:]] if prefix[0] == "mmcascade" else [sys.executable, *prefix[1:]]
    )
    proc = subprocess.run([*cmd, "--help"], cwd=REPO, capture_output=True, text=True, timeout=120)
    return proc.stdout + proc.stderr


def tool_prefix(words: list[str]) -> tuple[str, ...]:
    """The words naming the tool (and its subcommand, when the tool lists it as a choice)."""
    n = 1 if words[0] == "mmcascade" and words[1].startswith("-") else 2
    if words[0] == "mmcascade" and len(words) > 2 and words[1] in ("analyze", "convert"):
        n = 3
    prefix = tuple(words[:n])
    if len(words) > n and re.fullmatch(r"[a-z][a-z_-]*", words[n]):
        if re.search(r"\{[^}]*\b" + re.escape(words[n]) + r"\b[^}]*\}", help_text(*prefix)):
            prefix = (*prefix, words[n])
    return prefix


COMMANDS = documented_commands()


def test_the_docs_show_commands():
    assert len(COMMANDS) > 40


@pytest.mark.parametrize("page, words", COMMANDS, ids=[f"{p}:{' '.join(w[:3])}" for p, w in COMMANDS])
def test_documented_command_uses_existing_tool_and_options(page, words):
    prefix = tool_prefix(words)
    text = help_text(*prefix)
    assert "usage" in text.lower() and "unknown command" not in text and "No such file" not in text, (page, text[-500:])
    unknown = [f for f in FLAG.findall(" ".join(words[len(prefix) :])) if f not in text and f != "--help"]
    if prefix[:2] == ("mmcascade", "train") or prefix[:2] == ("python", "tools/train.py"):
        unknown = [f for f in unknown if f != "--cfg-options"]
    assert not unknown, f"{page}: {' '.join(words)}: options {unknown} are not in `{' '.join(prefix)} --help`"
