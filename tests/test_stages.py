"""The item pipelines are the stages: each adapter does its stage's work on the item, the
state between stages travels in one declared field (pipelines/work.py), `newscrawl clean`
runs the same stage functions in the same order, and every drop says the status the
ledger settles the article with (pipelines/drops.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from scrapy import signals
from scrapy.exceptions import DropItem

from newscrawl.items import RawArticle
from newscrawl.ledger import ledger_for
from newscrawl.outlets import generic_outlet
from pipelines.clean import clean_page, raw_page
from pipelines.decruft import DecruftPipeline
from pipelines.dedupe import DedupePipeline
from pipelines.drops import Duplicate, Rejected, WorkerLost, status_of
from pipelines.extract import ExtractPipeline
from pipelines.normalise import NormalisePipeline
from pipelines.pool import WorkerPool
from pipelines.runner import StageRunner
from pipelines.validate import ValidatePipeline
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


def test_the_validate_and_dedupe_stages_drop_with_their_status(tmp_path):
    crawler = make_crawler(tmp_path, OUTLET, NEWSCRAWL_BOILERPLATE_WARMUP=0)
    raw = RawArticle(**raw_page(HTML, URL, OUTLET))
    *_, valid = _through(crawler, raw, (ExtractPipeline, DecruftPipeline, NormalisePipeline, ValidatePipeline))
    dedupe = DedupePipeline.from_crawler(crawler)
    dedupe.open_spider()
    try:
        dedupe.process_item(dict(valid))
        with pytest.raises(Duplicate, match=r"^duplicate \(url\)") as dropped:
            dedupe.process_item(dict(valid))
        assert status_of(dropped.value) == "duplicate" and dropped.value.log_level == "INFO"
    finally:
        dedupe.close_store()
    validate = ValidatePipeline.from_crawler(crawler)
    with pytest.raises(Rejected, match="^invalid record: text has") as dropped:
        asyncio.run(validate.process_item({**valid, "text": "Too short.", "word_count": 2}))
    validate.close_spider()
    assert status_of(dropped.value) == "rejected"


def test_the_ledger_settles_each_drop_with_its_status(tmp_path):
    crawler = make_crawler(tmp_path, OUTLET)
    ledger = ledger_for(crawler)
    drops = [Rejected("invalid record: text is empty"), Duplicate("duplicate (content): x"),
             WorkerLost("worker died twice running extract_raw"), DropItem("a pipeline of another project")]
    for n, exception in enumerate(drops):
        crawler.signals.send_catch_log(signals.item_dropped, item={"url": f"{URL}/{n}"}, response=None,
                                       exception=exception, spider=crawler.spider)
    statuses = [ledger.lookup(f"{URL}/{n}")[1]["s"] for n in range(len(drops))]
    crawler.signals.send_catch_log(signals.engine_stopped)
    assert statuses == ["rejected", "duplicate", "rejected", "dropped"]


def test_the_runner_runs_a_stage_inline_without_workers():
    runner = StageRunner(WorkerPool(0), crash_marker="never killed inline")
    assert asyncio.run(runner.run(divmod, 7, 2)) == (3, 1)
    assert runner.map(divmod, [(7, 2), (9, 4)]) == [(3, 1), (2, 1)]
