"""No import cycles among the project's modules.

Every import statement counts, wherever it is: at the top of a module, inside a function
(the stages import their heavy libraries and their Scrapy adapters' helpers there, so that
the crawl process imports no worker-only library: tests/test_imports.py), or in a class.
Only imports under `if TYPE_CHECKING:` are left out, since they never run. A cycle hidden
behind a function-level import is a cycle all the same: the two modules cannot be
understood, tested or moved apart.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("newscrawl", "pipelines", "bench")

# No cycle is allowed. (The last one, the ledger, write and validate, went when the part
# files' storage moved to pipelines/parts.py.)
KNOWN_CYCLES: list[set[str]] = []


def module_files(root: Path = ROOT, packages=PACKAGES) -> dict[str, Path]:
    """Module name -> file, for every module of the packages."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _type_checking_only(tree: ast.AST) -> set[int]:
    """ids of the nodes under `if TYPE_CHECKING:`."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
                    (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
                skipped.update(id(n) for statement in node.body for n in ast.walk(statement))
    return skipped


def imported_modules(name: str, source: str, modules: dict[str, Path], is_package: bool = False) -> set[str]:
    """The project modules that module `name` imports, anywhere in its source. `from a
    import b` imports the module a.b when there is one, else a."""
    tree = ast.parse(source)
    skipped = _type_checking_only(tree)
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            for alias in node.names:
                found.add(f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin)
    targets = set()
    for target in found:
        while target and target not in modules:  # a name imported from a module: the module
            target = target.rpartition(".")[0]
        if target and target != name:
            targets.add(target)
    return targets


def import_graph(root: Path = ROOT, packages=PACKAGES) -> dict[str, set[str]]:
    modules = module_files(root, packages)
    return {name: imported_modules(name, path.read_text(encoding="utf-8"), modules, path.name == "__init__.py")
            for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The graph's strongly connected components of more than one module (Tarjan's
    algorithm, iterative): each is a set of modules that import each other in a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def describe(component: set[str], graph: dict[str, set[str]]) -> str:
    return "; ".join(f"{m} -> {', '.join(sorted(graph[m] & component))}" for m in sorted(component))


def test_no_import_cycles_among_the_projects_modules():
    graph = import_graph()
    assert {"newscrawl.cli", "pipelines.extract", "pipelines.decruft"} <= set(graph)  # the scan sees the project
    new = [c for c in cycles(graph) if not any(c <= known for known in KNOWN_CYCLES)]
    assert not new, "import cycles: " + " | ".join(describe(c, graph) for c in new)


def test_the_check_sees_function_level_imports_and_skips_type_checking_ones():
    modules = {"p": Path("p/__init__.py"), "p.a": Path("p/a.py"), "p.b": Path("p/b.py"), "p.c": Path("p/c.py")}
    a = imported_modules("p.a", "def f():\n    from p.b import thing\n", modules)
    b = imported_modules("p.b", "import os\nif TYPE_CHECKING:\n    from p import c\nclass K:\n"
                                "    def g(self):\n        from . import a\n", modules)
    c = imported_modules("p.c", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import p.a\n", modules)
    assert (a, b, c) == ({"p.b"}, {"p.a"}, set())
    graph = {"p": set(), "p.a": a, "p.b": b, "p.c": c}
    assert cycles(graph) == [{"p.a", "p.b"}]
    assert cycles({"x": {"y"}, "y": {"z"}, "z": set()}) == []
