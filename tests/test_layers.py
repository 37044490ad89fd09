"""The package's layers and the direction of its imports (docs/architecture.md).

``core`` (theory objects) ← ``optim`` (optimizers) ← ``suite`` (claims, checks, strategies,
enforcement) ← ``tools`` (user-facing commands): a module may import from its own layer and the
layers to its left, never to its right. ``ntpverify.data`` (shipped files) and ``ntpverify._version`` are leaves all may read;
``ntpverify/__init__.py`` is the public facade and may import any layer. The module graph, lazy
imports included, has no cycle. Imports under ``if TYPE_CHECKING:`` are annotations only and do not
count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ntpverify

ROOT = Path(ntpverify.__file__).parent
LAYERS = ("core", "optim", "suite", "tools")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"))


def imports_of(source: str, package: str, modules: set[str]) -> set[str]:
    """The ``ntpverify`` modules that ``source`` (a module of ``package``) imports, anywhere in the
    file except TYPE_CHECKING blocks; ``from P import name`` counts as ``P.name`` when that is one
    of ``modules``."""
    tree = ast.parse(source)
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if _type_checking_block(node):
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "ntpverify")
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            if base.split(".")[0] == "ntpverify":
                for alias in node.names:  # ``from ntpverify.suite import archive`` names a module
                    candidate = f"{base}.{alias.name}"
                    found.add(candidate if candidate in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def package_of(path: Path) -> str:
    return module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]


FILES = sorted(ROOT.rglob("*.py"))
MODULES = {module_name(p) for p in FILES}
GRAPH = {module_name(p): imports_of(p.read_text(encoding="utf-8"), package_of(p), MODULES) & MODULES
         for p in FILES}


def layer(module: str) -> int | None:
    """The layer index of ``module``; None for the facade and ``data`` (outside the order)."""
    parts = module.split(".")
    if len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def test_every_module_belongs_to_a_layer():
    outside = sorted(m for m in MODULES if layer(m) is None
                     and m not in ("ntpverify", "ntpverify._version", "ntpverify.data"))
    assert not outside, f"modules outside the four layers: {outside}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if layer(m) is not None))
def test_imports_flow_toward_core(module):
    own = layer(module)
    upward = sorted(t for t in GRAPH[module] if (lt := layer(t)) is not None and lt > own)
    facade = "ntpverify" in GRAPH[module]
    assert not upward and not facade, (
        f"{module} (layer {LAYERS[own]}) imports {upward + ['ntpverify'] * facade}: a module may import "
        f"only from {LAYERS[: own + 1]}")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path ``[a, b, …, a]``, or None (iterative DFS, colours)."""
    colour = dict.fromkeys(graph, 0)
    for root in sorted(graph):
        if colour[root]:
            continue
        stack: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        path = [root]
        colour[root] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                colour[node] = 2
                stack.pop()
                path.pop()
                continue
            nxt = todo.pop()
            if colour.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if colour.get(nxt) == 0:
                colour[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(graph[nxt])))
    return None


def test_the_import_graph_has_no_cycle():
    # package __init__ files re-export their children: the edge child → package is a real
    # dependency, the edge package → child is the re-export; count only the latter
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in GRAPH.items()}
    assert find_cycle(graph) is None, f"import cycle: {' → '.join(find_cycle(graph) or [])}"


# --- meta-tests of the helpers above ------------------------------------------------------------


def test_find_cycle_finds_a_cycle_and_accepts_a_dag():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_imports_of_sees_lazy_and_relative_imports_and_skips_type_checking():
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ntpverify.tools import cli\n"
              "def f():\n    from ntpverify.tools.report import write\n"
              "from . import claims\nimport numpy\n")
    modules = {"ntpverify.suite.claims", "ntpverify.tools.cli", "ntpverify.tools.report"}
    assert imports_of(source, "ntpverify.suite", modules) == {"ntpverify.tools.report", "ntpverify.suite.claims"}


def test_layer_rule_rejects_an_upward_import():
    """Negative control: the rule the parametrized test applies flags suite → tools."""
    assert layer("ntpverify.tools.cli") > layer("ntpverify.suite.verdict")
    assert layer("ntpverify.data") is None and layer("ntpverify") is None
