"""pyproject.toml declares what the code imports, and nothing else: a library the code
imports is named even when another dependency brings it along (its next version may
not), and a declared one that nothing imports is dropped. Imports of the crawler's code
are declared as dependencies or, where only an optional feature needs them, as an
extra; imports of the tests, benchmarks and scripts may come from the `test` extra."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"newscrawl", "pipelines", "tests", "bench", "scripts"}
CODE = ("newscrawl", "pipelines")
TOOLS = ("tests", "bench", "scripts")


# Declared though no module of ours imports them: a library we use loads them.
LOADED_BY_LIBRARIES = {
    "lxml-html-clean": "trafilatura's justext imports lxml.html.clean, which lxml 5.2 moved to this package",
    "brotli": "Scrapy's HttpCompressionMiddleware asks every site for Content-Encoding: br and decodes it with brotli",
}


# In the test extra for code the tests run as a user would, from text (the README's
# one-liners that read the output, run as written by tests/test_write.py).
RUN_FROM_TEXT = {"duckdb", "pyarrow"}


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement ("lxml_html_clean>=0.4" -> "lxml-html-clean")."""
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", requirement).group(0)).lower()


def imported_modules(*folders: str) -> set[str]:
    """Top-level names of the third-party modules imported under the folders."""
    found = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if isinstance(node, ast.Import):
                    found |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - OWN - {"__future__"}


def distributions(modules: set[str]) -> set[str]:
    owners = importlib.metadata.packages_distributions()
    missing = sorted(m for m in modules if m not in owners)
    assert not missing, f"imported but not installed: {missing}"
    return {_name(dist) for module in modules for dist in owners[module]}


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_every_imported_library_is_declared():
    meta = project()
    extras = meta["optional-dependencies"]
    declared = {_name(r) for r in meta["dependencies"]}
    optional = {_name(r) for name, reqs in extras.items() if name != "test" for r in reqs}
    for_tools = {_name(r) for r in extras["test"]}
    assert distributions(imported_modules(*CODE)) - declared - optional == set()
    assert distributions(imported_modules(*TOOLS)) - declared - optional - for_tools == set()


def test_every_declared_library_is_imported():
    meta = project()
    extras = meta["optional-dependencies"]
    used = distributions(imported_modules(*CODE, *TOOLS))
    declared = {_name(r) for r in meta["dependencies"]} | {_name(r) for reqs in extras.values() for r in reqs}
    assert declared - used - set(LOADED_BY_LIBRARIES) - RUN_FROM_TEXT == set()


def test_the_libraries_our_libraries_load_are_loaded_by_them():
    """Each entry of LOADED_BY_LIBRARIES is really loaded by the library it names: taking
    it away from the crawl's page path would break a feature without an import error of
    ours to show it."""
    import brotli  # noqa: F401 - what Scrapy decodes br bodies with
    import lxml.html.clean  # noqa: F401 - what justext imports
    from scrapy.downloadermiddlewares.httpcompression import ACCEPTED_ENCODINGS

    assert b"br" in ACCEPTED_ENCODINGS
    assert {_name(r) for r in project()["dependencies"]} >= set(LOADED_BY_LIBRARIES)
