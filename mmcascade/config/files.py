"""Read a config file's ``_base_`` chain as text before mmengine parses it, so that a syntax error
names the file and line and a circular inheritance names the chain (mmengine reports the first
as ``File "<unknown>"`` and recurses without end on the second)."""

from __future__ import annotations

import ast
import os.path as osp


class ConfigFileError(ValueError):
    """A config file (or one it inherits) cannot be read as a config."""


def _bases(tree: ast.Module, path: str) -> list[str]:
    """The ``_base_`` files a parsed config names (a string or a list of strings, module level)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                where = f"{path}, line {node.lineno}"
                raise ConfigFileError(f"{where}: _base_ must be a string or a list of strings") from None
            return [value] if isinstance(value, str) else [str(v) for v in value]
    return []


def check_config_file(path: str, chain: tuple[str, ...] = ()) -> None:
    """Parse ``path`` and every local ``_base_`` file it inherits, depth first.

    Raises:
        ConfigFileError: a syntax error (file, line, the line's text) or a circular ``_base_``
            (the chain of files, ``a.py -> b.py -> a.py``).
    """
    path = osp.abspath(path)
    if path in chain:
        names = [osp.relpath(p) for p in (*chain, path)]
        raise ConfigFileError(f"circular _base_ inheritance: {' -> '.join(names)}")
    if not path.endswith(".py") or not osp.isfile(path):
        return  # json / yaml configs, or a file mmengine will report as missing
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        raise ConfigFileError(
            f"{path}, line {exc.lineno}: syntax error: {exc.msg}" + (f"\n    {line}" if line else "")
        ) from None
    for base in _bases(tree, path):
        if "::" in base:  # a package's config (mmcascade::...), read by mmengine
            continue
        check_config_file(osp.join(osp.dirname(path), base), (*chain, path))
