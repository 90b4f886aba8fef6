"""No import cycle among the modules of ``chatbot/``, ``training/`` and ``webui/``.

Every import counts, the ones inside functions too: a lazy import hides a loop from Python at import
time, not from a reader, who still has to understand both modules at once. The graph comes from each
module's ``ast`` (nothing is imported), an edge goes to the most specific module that exists
(``from chatbot.commands import help_command`` -> ``chatbot.commands.help_command``;
``from chatbot.commands import run_command`` -> ``chatbot.commands``), and a loop is a strongly
connected component of more than one module.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("chatbot", "training", "webui")


def module_files() -> dict[str, Path]:
    """``{dotted module name: file}`` for every ``.py`` file of the packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def most_specific(name: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of the dotted ``name`` that is one of ``modules``."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name ``module`` imports (``from a import b`` gives ``a.b``), relative ones resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - (node.level - 1)] + ([base] if base else []))
            names.update(base if alias.name == "*" else f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """``{module: modules it imports}`` within the packages (self-imports left out)."""
    modules = module_files()
    graph = {}
    for module, path in modules.items():
        targets = {most_specific(name, modules) for name in imported_names(module, path)}
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_sees_edges() -> None:
    """The walk finds imports, relative ones and ones inside functions included."""
    graph = import_graph()
    assert "chatbot.registry" in graph["chatbot.pipeline"]
    assert "training.train" in graph["training.cli"]  # imported inside run_train
    assert len(graph) > 50


def test_relative_imports_resolve(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("from . import a\nfrom .b import c\n", encoding="utf-8")
    (tmp_path / "a.py").write_text("from .. import top\nfrom .b import *\n", encoding="utf-8")
    assert imported_names("pkg", tmp_path / "__init__.py") == {"pkg.a", "pkg.b.c"}
    assert imported_names("pkg.sub.a", tmp_path / "a.py") == {"pkg.top", "pkg.sub.b"}
    modules = {"pkg": tmp_path, "pkg.b": tmp_path}
    assert most_specific("pkg.b.c", modules) == "pkg.b" and most_specific("other.x", modules) is None


def test_cycles_finds_a_loop() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles() -> None:
    loops = cycles(import_graph())
    assert not loops, "import cycles (move what both sides need into a module below them):\n" + "\n".join(
        " <-> ".join(loop) for loop in loops)
