"""A process that runs crawl after crawl (bench/soak.py does, a long-lived worker would)
keeps none of the crawls it has finished: no crawler, so none of its stores, downloads or
pipelines, outlives its crawl.

Receivers connected with weak=False live in the signal registry, a module global, for the
life of the process; one that held its crawler (a closure over it, or over an object that
holds it) kept every crawler of the process alive, 3.4 MB a run of three outlets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from newscrawl.demo import fixture_web_spec, serve_outlet
from tests.crawling import FAST, ROOT, scrapy_env, write_outlets
from tests.test_cron import assert_exactly_once

pytestmark = pytest.mark.e2e  # real crawls in a child process, a local server

REGIONAL, PAPER, URDU = fixture_web_spec()

CRAWLS_IN_ONE_PROCESS = r"""
import gc, json, sys
from scrapy.crawler import AsyncCrawlerRunner, Crawler
from scrapy.utils.defer import deferred_f_from_coro_f
from scrapy.utils.reactor import install_reactor
from twisted.internet import task

from newscrawl.project import project_settings

outlet, runs, overrides = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
settings = project_settings(overrides)
install_reactor(settings.get("TWISTED_REACTOR"))


async def main(_reactor):
    from newscrawl.shared import SHARED

    codes = []
    for _ in range(runs):
        runner = AsyncCrawlerRunner(settings)
        crawler = runner.create_crawler(outlet)
        await runner.crawl(crawler)
        SHARED.close_all()
        codes.append(crawler.stats.get_value("newscrawl/exit_code"))
        del crawler, runner
    gc.collect()
    alive = sum(1 for o in gc.get_objects() if isinstance(o, Crawler))
    print(json.dumps({"codes": codes, "crawlers_alive": alive}))

task.react(deferred_f_from_coro_f(main))
"""


def test_a_process_running_crawl_after_crawl_keeps_none_of_the_finished_crawlers(tmp_path):
    import json

    with serve_outlet(URDU) as served:
        outlets_dir = write_outlets(tmp_path / "outlets", [served.outlet])
        settings = {**FAST, "NEWSCRAWL_OUTPUT_DIR": str(tmp_path / "output"), "NEWSCRAWL_STATE_DIR": str(tmp_path / "state"),
                    "NEWSCRAWL_ARCHIVE_DIR": str(tmp_path / "archive"), "LOG_LEVEL": "WARNING"}
        proc = subprocess.run([sys.executable, "-c", CRAWLS_IN_ONE_PROCESS, URDU.name, "3", json.dumps(settings)],
                              cwd=ROOT, env=scrapy_env(outlets_dir), capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        assert result == {"codes": [0, 0, 0], "crawlers_alive": 0}, proc.stderr[-3000:]
        assert_exactly_once(tmp_path, served)
