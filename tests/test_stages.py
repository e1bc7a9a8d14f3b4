"""The item pipelines are the stages: each adapter does its stage's work on the item, the
state between stages travels in one declared field (pipelines/work.py), and `newscrawl
clean` runs the same stage functions in the same order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from newscrawl.items import RawArticle
from newscrawl.outlets import generic_outlet
from pipelines.clean import clean_page, raw_page
from pipelines.decruft import DecruftPipeline
from pipelines.extract import ExtractPipeline
from pipelines.normalise import NormalisePipeline
from pipelines.pool import WorkerPool
from pipelines.runner import StageRunner
from pipelines.work import WORK, Work
from tests.pipeline_run import make_crawler

URL = "https://news.example/2025/08/04/seed-article"
HTML = (Path(__file__).parent / "fixtures" / "seed_article.html").read_text(encoding="utf-8")
OUTLET = generic_outlet(URL)


def _through(crawler, item, stages):
    """The item through the stages' adapters, as Scrapy calls them; what each handed on."""
    handed = []
    for stage in stages:
        result = stage.from_crawler(crawler).process_item(item)
        item = asyncio.run(result) if asyncio.iscoroutine(result) else result
        handed.append(item)
    return handed


def test_the_crawls_stages_and_clean_make_the_same_record(tmp_path):
    crawler = make_crawler(tmp_path, OUTLET, NEWSCRAWL_BOILERPLATE_WARMUP=0)
    raw = RawArticle(**raw_page(HTML, URL, OUTLET))
    extracted, decrufted, normalised = _through(crawler, raw, (ExtractPipeline, DecruftPipeline, NormalisePipeline))
    # What each stage hands the next: the record's own fields, and its Work.
    assert isinstance(extracted[WORK], Work) and extracted[WORK].blocks and "text" not in extracted
    assert WORK not in decrufted and decrufted["text"]
    assert normalised[WORK].shingle_hashes and normalised[WORK].blocks == []
    for record in (extracted, decrufted, normalised):
        assert [k for k in record if k.startswith("_")] in ([], [WORK])
    cleaned, _ = clean_page(HTML, URL, OUTLET, settings=crawler.settings)
    volatile = {"fetched_at"}
    assert {k: v for k, v in cleaned.items() if k not in volatile} == \
        {k: v for k, v in normalised.items() if k != WORK and k not in volatile}


def test_the_runner_runs_a_stage_inline_without_workers():
    runner = StageRunner(WorkerPool(0), crash_marker="never killed inline")
    assert asyncio.run(runner.run(divmod, 7, 2)) == (3, 1)
    assert runner.map(divmod, [(7, 2), (9, 4)]) == [(3, 1), (2, 1)]
