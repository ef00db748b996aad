"""The package's layers hold: ``analysis.sccs`` is generic, imports follow the layer order, and no
import cycle exists between the project's modules (an AST walk over every module, so lazy imports
inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "analysis"

#: Lower layers first; a module may import from its own layer and from layers before it.
LAYERS: tuple[str, ...] = (
    "sccs", "study", "paper", "synthetic", "teaching", "report", "omop", "cli",
)
#: Imported from anywhere: the package root (paths) and the one loader of the paper's targets.
SHARED_LEAVES: frozenset[str] = frozenset({"analysis", "analysis.paper.targets"})


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every ``analysis...`` module a file imports, at top level or inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "analysis"}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != "analysis":
                continue
            found.add(node.module)
            for alias in node.names:  # ``from analysis.study import cox`` imports a module
                candidate = f"{node.module}.{alias.name}"
                if _exists(candidate):
                    found.add(candidate)
    return found


def _exists(module: str) -> bool:
    base = PACKAGE.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def test_every_module_belongs_to_a_layer() -> None:
    loose = [m for m in _graph() if _layer(m) is None and m not in
             {"analysis", "analysis.__main__"}]
    assert not loose, f"modules outside the layer folders: {loose}"


def test_sccs_is_generic() -> None:
    bad = {m: sorted(i for i in imps if not i.startswith("analysis.sccs"))
           for m, imps in _graph().items() if m.startswith("analysis.sccs")}
    bad = {m: i for m, i in bad.items() if i}
    assert not bad, f"analysis.sccs must import nothing else from analysis: {bad}"


def test_imports_follow_the_layers() -> None:
    offences = []
    for mod, imps in _graph().items():
        here = _layer(mod)
        if here is None:
            continue
        for imp in imps:
            if imp in SHARED_LEAVES:
                continue
            there = _layer(imp)
            if there is not None and there > here:
                offences.append(f"{mod} imports {imp} (layer {LAYERS[there]} is above "
                                f"{LAYERS[here]})")
    assert not offences, "\n".join(offences)


def test_no_import_cycle() -> None:
    graph = _graph()
    edges = {m: {i for i in imps if i in graph and i != m} for m, imps in graph.items()}
    # a package's __init__ re-exporting its own submodules is not a cycle of the design
    for m in edges:
        edges[m] = {i for i in edges[m] if not (m.startswith(i + ".") or i.startswith(m + "."))
                    or not _is_package(i if m.startswith(i + ".") else m)}
    cycle = _find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def _is_package(module: str) -> bool:
    return (PACKAGE.parent.joinpath(*module.split(".")) / "__init__.py").is_file()


def _find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


@pytest.mark.parametrize("cycle_free", [False, True])
def test_the_cycle_finder_can_fail(cycle_free: bool) -> None:
    edges = {"a": {"b"}, "b": set() if cycle_free else {"a"}}
    assert (_find_cycle(edges) is None) is cycle_free
