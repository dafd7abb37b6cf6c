"""The package's import graph, read with ``ast`` (every import, module-level or deferred
inside a function, counts): no cycles, and the layering rules of the README hold."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "ttsengine"


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """ttsengine module -> the ttsengine modules it imports (anywhere in its body).
    ``from X import name`` counts as an import of ``X.name`` where that is a module, else of ``X``."""
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    native = {_module_name(p.with_suffix(".py"), root) for p in root.rglob("*.pyi")}  # _core, _cuda
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        edges: set[str] = set()
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(module, is_package, node)
                known = files.keys() | native
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            else:
                continue
            for target in targets:
                if target in native:
                    continue
                while target and target not in files:  # a name inside a module -> that module
                    target = target.rpartition(".")[0]
                if target.startswith("ttsengine") and target != module:
                    edges.add(target)
        graph[module] = edges
    return graph


def _parents(module: str) -> set[str]:
    """Packages whose __init__ runs when ``module`` is imported."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan). Importing a module
    runs its parent packages' __init__ first, but that is not an edge: a package's own
    __init__ importing its submodules is the usual layout."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt in _parents(node) or node in _parents(nxt):
                continue  # package <-> its own submodules
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Modules ``start`` imports, directly or not (an import of a parent package is not
    followed: it has run before any of its submodules)."""
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        for nxt in graph.get(node, ()):
            if nxt not in seen and nxt not in _parents(node):
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_the_detector_finds_deferred_cycles(tmp_path):
    """The check can fail: a cycle closed by an import inside a function is found."""
    pkg = tmp_path / "ttsengine"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..a import g\n")
    (pkg / "c.py").write_text("import ttsengine.a\n")
    graph = import_graph(pkg)
    assert graph["ttsengine.a"] == {"ttsengine.sub.b"} and graph["ttsengine.sub.b"] == {"ttsengine.a"}
    assert find_cycles(graph) == [["ttsengine.a", "ttsengine.sub.b"]]


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert cycles == [], "\n".join(" <-> ".join(c) for c in cycles)


@pytest.mark.parametrize("layer", ["ttsengine.backends", "ttsengine.voice"])
def test_runners_and_the_bundle_format_import_neither_exporter_nor_synthesizer(layer):
    graph = import_graph()
    forbidden = ("ttsengine.export", "ttsengine.synthesizer", "ttsengine.training", "ttsengine.server")
    bad = {}
    for module in graph:
        if module == layer or module.startswith(layer + "."):
            hits = sorted(m for m in reachable(graph, module) if m.startswith(forbidden))
            if hits:
                bad[module] = hits
    assert bad == {}, bad


if __name__ == "__main__":  # python tests/test_layering.py: print the cycles
    for cycle in find_cycles(import_graph()):
        print(" <-> ".join(cycle))
