"""Reading a user's JSON file with errors that name the file and say where it breaks."""

from __future__ import annotations

import json
import os
from typing import Any


class JsonFileError(ValueError):
    """A JSON file that does not parse; the message names the file, the line and the cause
    (``path`` and ``reason``: the message without the file's name)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def load_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """``json.load`` of ``path``.

    Raises:
        FileNotFoundError: naming the file and ``what`` it should be.
        JsonFileError: the file does not parse: its name, ``what``, the line and column, and,
            when the error is at the end of the file, that the file is cut short.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such {what}")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileError(path, describe_json_error(text, exc, what)) from None


def describe_json_error(text: str, exc: json.JSONDecodeError, what: str) -> str:
    """Why ``text`` (a ``what``) is not valid JSON: the position and, for a text that never closes
    its outer bracket, that it is cut short."""
    where = f"line {exc.lineno}, column {exc.colno}"
    if not text.strip():
        return f"the {what} is empty"
    body = text.strip()
    closing = {"[": "]", "{": "}"}.get(body[:1])
    if closing and body[-1:] != closing:  # never closed: cut short
        lines = text.rstrip().count("\n") + 1
        return (
            f"the {what} ends in the middle of its JSON (at line {lines}, without the closing "
            f"{closing!r}; {exc.msg} at {where}): the file is cut short (an interrupted write or copy?); "
            "write it again"
        )
    return f"the {what} is not valid JSON: {exc.msg} at {where}"


def read_coco(path: str | os.PathLike, what: str = "COCO annotation file") -> Any:
    """A ``pycocotools.coco.COCO`` of ``path``, parsed once by :func:`load_json` (errors name the
    file and the line)."""
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = load_json(path, what)
    coco.createIndex()
    return coco
