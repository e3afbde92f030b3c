"""The package's structure: no import cycle (imports inside functions included), each package
imports only the layers below it (the order written in CONTRIBUTING.md), the export seam stays in
``ops/`` and ``deploy/``, and files and functions stay small."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import pytest

from helpers import REPO as _REPO

REPO = Path(_REPO)
PACKAGE = REPO / "mmcascade"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 60


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every mmcascade module ``name`` imports, at the top or inside a function, resolved to a
    module file; ``from pkg import x`` counts as importing ``pkg.x`` when that is a module."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".") if is_package else name.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{a.name}" if f"{prefix}.{a.name}" in modules else prefix for a in node.names]
        else:
            continue
        for target in targets:
            if target.split(".")[0] != "mmcascade":
                continue  # other packages, optional ones (onnx, openvino...) included
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> modules its import runs, with the packages Python initialises on the way
    (importing ``a.b.c`` runs ``a.b``'s ``__init__``), except the importer's own parents."""
    modules = all_modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in imported_modules(name, path, modules):
            parts = target.split(".")
            for i in range(2, len(parts) + 1):
                step = ".".join(parts[:i])
                if step in modules and step != name and not (name.startswith(step + ".") and step != target):
                    graph[name].add(step)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a list of modules (first == last), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def layer_order() -> list[str]:
    """The layers, lowest first, from CONTRIBUTING.md's line ``Layers: registry < utils < ...``."""
    text = (REPO / "CONTRIBUTING.md").read_text()
    match = re.search(r"^Layers: (.+)$", text, re.MULTILINE)
    assert match, "CONTRIBUTING.md has no 'Layers: a < b < ...' line"
    return [name.strip(" `") for name in match.group(1).split("<")]


def layer_of(module: str) -> str | None:
    """The layer (top-level package) of ``module``; ``python -m mmcascade`` is the command's."""
    parts = module.split(".")
    if len(parts) < 2:
        return None
    return "cli" if parts[1] == "__main__" else parts[1]


def test_the_cycle_finder_finds_a_cycle_and_the_graph_sees_imports_inside_functions(tmp_path):
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    # mmcascade.tools.test imports mmcascade.deploy inside a function
    assert "mmcascade.deploy" in import_graph()["mmcascade.tools.test"]


def test_no_import_cycle_not_even_through_imports_inside_functions():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_package_is_a_layer_and_imports_only_layers_below_it():
    order = layer_order()
    rank = {name: i for i, name in enumerate(order)}
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    packages |= {p.stem for p in PACKAGE.glob("*.py") if not p.name.startswith("__")}
    missing = sorted(p for p in packages if p not in rank)
    assert not missing, f"packages not in CONTRIBUTING.md's layer order: {missing}"
    upward = []
    for module, targets in import_graph().items():
        for target in targets:
            low, high = layer_of(module), layer_of(target)
            if low is None or high is None or low == high:
                continue
            if rank[high] > rank[low]:
                upward.append(f"{module} imports {target} ({high} is above {low})")
    assert not upward, "\n".join(sorted(upward))


def test_every_package_folder_is_a_regular_package():
    """A folder of modules without ``__init__.py`` imports (a namespace package) but is left out of
    the wheel by ``find_packages``."""
    missing = [
        str(d.relative_to(REPO))
        for d in sorted(PACKAGE.rglob("*"))
        if d.is_dir() and any(d.glob("*.py")) and not (d / "__init__.py").is_file() and ".mim" not in d.parts
    ]
    assert not missing, f"folders of modules without __init__.py: {missing}"


def test_models_and_structures_never_ask_whether_they_are_exported():
    offenders = [
        f"{path.relative_to(REPO)}:{i}"
        for folder in ("models", "structures")
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"is_exporting|ties_by_index|is_in_onnx_export", line)
    ]
    assert not offenders, f"export branches outside ops/ and deploy/: {offenders}"


def test_the_registry_imports_no_package_and_lists_every_package_that_registers():
    from mmcascade import registry

    source = (PACKAGE / "registry.py").read_text()
    assert not re.search(r"^\s*(from|import) mmcascade", source, re.MULTILINE)
    registering = {
        module_name(p).split(".")[1]
        for p in PACKAGE.rglob("*.py")
        if "register_module(" in p.read_text() and p.parent != PACKAGE
    }
    locations = {loc.split(".")[1] for child in registry._CHILDREN for loc in child._locations}
    assert registering <= locations, f"packages that register but no registry lists: {registering - locations}"


def _function_lengths(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.lineno, node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("folder", ["mmcascade"])
def test_files_and_functions_stay_small(folder):
    too_long = [
        f"{p.relative_to(REPO)} ({n} lines)"
        for p in sorted((REPO / folder).rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    ]
    assert not too_long, f"files over {MAX_FILE_LINES} lines: {too_long}"
    long_functions = [
        f"{p.relative_to(REPO)}:{line} {name} ({n} lines)"
        for p in sorted((REPO / folder).rglob("*.py"))
        for name, line, n in _function_lengths(p)
        if n > MAX_FUNCTION_LINES
    ]
    assert not long_functions, f"functions over {MAX_FUNCTION_LINES} lines: {long_functions}"
