"""The crawl process imports none of the libraries that only the workers use (extraction,
normalisation, validation): at every start of a crawl they would cost over 100 ms of CPU
and ~9 MB of RSS for nothing. The workers' fork server imports them all instead."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from newscrawl import settings as project_settings
from newscrawl.demo import serve_fixture_web
from tests.crawling import ROOT, crawl, scrapy_env
from tests.worker_libraries import REPORT

pytestmark = pytest.mark.e2e  # fresh interpreters and a real crawl


def _run(code: str):
    """What `code`, run in a fresh interpreter, prints last, read as JSON."""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=scrapy_env(None), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_loading_the_crawl_components_imports_no_worker_library():
    """Every component the project's settings name, the spiders and what the spider imports
    at its first page, loaded as Scrapy loads them."""
    loaded = _run("""
from scrapy.utils.misc import load_object
from newscrawl import settings
for name in ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES"):
    for path, order in getattr(settings, name).items():
        if order is not None:
            load_object(path)
load_object(settings.LOG_FORMATTER)
import newscrawl.commands.crawl, newscrawl.spiders.news, newscrawl.spiders.outlets
import newscrawl.page_job, pipelines.drops, pipelines.runner  # imported by the spider's parse_page
from tests.worker_libraries import imported
print(__import__("json").dumps(imported()))
""")
    assert loaded == []


def test_after_the_fork_servers_warm_up_cleaning_a_page_imports_nothing_more():
    """pipelines.pool_warmup, which the fork server imports before it forks the workers,
    loads what the stages use: a worker started from it (its own start, `in_worker`,
    included) cleans its first page without importing a worker library."""
    after = _run("""
import sys
import pipelines.pool_warmup
pipelines.pool_warmup.in_worker()
from newscrawl.cli import project_settings
from newscrawl.outlets import generic_outlet
from pipelines.clean import clean_page
from tests.crawling import ROOT
before = set(sys.modules)
url = "https://news.example/2025/08/04/seed-article"
html = (ROOT / "tests" / "fixtures" / "seed_article.html").read_text(encoding="utf-8")
record, _ = clean_page(html, url, generic_outlet(url), settings=project_settings())
from tests.worker_libraries import WORKER_LIBRARIES

new = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in WORKER_LIBRARIES)
print(__import__("json").dumps({"words": len(record["text"].split()), "new": new}))
""")
    assert after["words"] > 100  # the page was cleaned, by every stage
    assert after["new"] == []


def test_a_crawl_process_never_imports_a_worker_library(tmp_path):
    """A real crawl, with its workers: by the end of it, with records written and rejected,
    the crawl process itself has still imported none of them."""
    extensions = {**project_settings.EXTENSIONS, "tests.worker_libraries.ReportWorkerLibraries": 1000}
    with serve_fixture_web() as fixture_web:
        outlet = fixture_web[0].outlet
        # Articles under 300 words are rejected: the crawl writes both records and rejects.
        run = crawl(outlet, tmp_path, settings={"EXTENSIONS": json.dumps(extensions), "NEWSCRAWL_MIN_WORDS": 300})
        assert run.records(outlet.name) and run.rejects(outlet.name)
    reports = [line.split(REPORT, 1)[1] for line in run.log.splitlines() if REPORT in line]
    assert len(reports) == 1, run.log[-3000:]
    assert json.loads(reports[0]) == []
