"""The crawler uses only the public API of Scrapy, Twisted and `re`: an upgrade of any of
them must not break it. Reads the source of newscrawl/ and pipelines/ (no imports) and
fails on any private name of those libraries the code imports or reads:

- `import re._parser`, `from twisted.web._newclient import X`, `from re import _parser`,
  `import sre_parse` (the old name of `re`'s parser);
- `re._parser.parse(...)` or `tx._x` where `re` / `tx` were imported from those libraries;
- `x._name` or `getattr(x, "_name")` on the objects a crawl is handed (`crawler`,
  `engine`, `spider`, `downloader`, ...), and `engine.scraper` (the engine's scraper and
  its slot are not part of Scrapy's API);
- `self._name` in a class derived from a Scrapy or Twisted class, where the class does
  not define `_name` itself (a private method inherited from the library).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARIES = {"scrapy", "twisted", "re", "sre_parse", "sre_compile", "sre_constants"}
# Names the code gives the objects Scrapy and Twisted hand it.
RUNTIME_OBJECTS = {"crawler", "engine", "scraper", "downloader", "scheduler", "slot", "spider", "signals",
                   "settings", "stats", "reactor", "request", "response", "failure", "crawler_process",
                   "spider_loader", "itemproc", "middleware"}
# Public-looking attributes that are engine internals all the same.
INTERNAL_ATTRIBUTES = {("engine", "scraper")}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _library(module: str | None) -> bool:
    return bool(module) and module.split(".")[0] in LIBRARIES


def _last_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _root_name(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def private_uses(source: str, filename: str = "<source>") -> list[str]:
    """Each use of a private name of Scrapy, Twisted or `re` in the source, as
    "file:line: what"."""
    tree = ast.parse(source, filename)
    found: list[str] = []
    library_aliases: set[str] = set()  # names bound to a module or object of those libraries

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _library(alias.name):
                    library_aliases.add(alias.asname or alias.name.split(".")[0])
                    if alias.name.split(".")[0].startswith("sre_") or any(map(_private, alias.name.split("."))):
                        report(node, f"import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and _library(node.module):
            if node.module.split(".")[0].startswith("sre_") or any(map(_private, node.module.split("."))):
                report(node, f"from {node.module} import ...")
            for alias in node.names:
                library_aliases.add(alias.asname or alias.name)
                if _private(alias.name):
                    report(node, f"from {node.module} import {alias.name}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            owner = _last_name(node.value)
            if _private(node.attr) and (_root_name(node) in library_aliases or owner in RUNTIME_OBJECTS):
                report(node, f"{ast.unparse(node)}")
            if (owner, node.attr) in INTERNAL_ATTRIBUTES:
                report(node, f"{ast.unparse(node)}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr")
              and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            owner, name = _last_name(node.args[0]), node.args[1].value
            if (_private(name) and owner in RUNTIME_OBJECTS) or (owner, name) in INTERNAL_ATTRIBUTES:
                report(node, f"{ast.unparse(node)}")
        elif isinstance(node, ast.ClassDef) and any(_root_name(b) in library_aliases for b in node.bases):
            own = {n.name for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
            own |= {t.id for n in ast.walk(node) if isinstance(n, (ast.Assign, ast.AnnAssign))
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target]) if isinstance(t, ast.Name)}
            own |= {t.attr for n in ast.walk(node) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign))
                    for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                    if isinstance(t, ast.Attribute) and _root_name(t) == "self"}
            for n in ast.walk(node):
                if (isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "self"
                        and _private(n.attr) and n.attr not in own):
                    report(n, f"self.{n.attr} (inherited from {ast.unparse(node.bases[0])})")
    return found


def project_sources() -> list[Path]:
    return sorted(p for folder in ("newscrawl", "pipelines") for p in (ROOT / folder).rglob("*.py"))


def test_project_code_uses_no_private_scrapy_twisted_or_re_names():
    sources = project_sources()
    assert len(sources) > 20
    found = [use for path in sources for use in private_uses(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert found == []


@pytest.mark.parametrize("source", [
    "from re import _parser",
    "import re\nre._parser.parse('x')",
    "from twisted.web._newclient import ResponseFailed",
    "import twisted.web._newclient",
    "import sre_parse",
    "from scrapy.utils.defer import _schedule_coro",
    "def f(engine):\n    return engine._slot.scheduler",
    "def f(crawler):\n    return getattr(crawler.engine, '_start', None)",
    "def f(crawler):\n    return crawler.engine.scraper.slot",
    "from scrapy.commands.crawl import Command as ScrapyCrawl\n"
    "class C(ScrapyCrawl):\n    def run(self):\n        return self._create_crawler('x')",
])
def test_the_check_finds_each_kind_of_private_use(source):
    assert private_uses(source)


@pytest.mark.parametrize("source", [
    "import os\nos._exit(0)",  # documented: not a private name
    "from twisted.web.client import ResponseFailed",
    "def f(crawler):\n    return crawler.engine.downloader.get_slot_key(None)",
    "class A:\n    def f(self, rules):\n        return rules._text_cache, self._x",
    "import scrapy\nclass S(scrapy.Spider):\n    def __init__(self):\n        self._seen = set()\n"
    "    def parse(self, response):\n        return self._seen",
])
def test_the_check_leaves_public_and_own_names_alone(source):
    assert private_uses(source) == []
