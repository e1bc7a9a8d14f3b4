"""Runs records through the real pipeline classes, built from a real Scrapy crawler."""

from __future__ import annotations

import asyncio
import inspect

import scrapy
from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from newscrawl.outlets import Outlet
from pipelines.dedupe import DedupePipeline
from pipelines.normalise import NormalisePipeline
from pipelines.validate import ValidatePipeline
from pipelines.write import WritePipeline

STAGES = (NormalisePipeline, ValidatePipeline, DedupePipeline, WritePipeline)


def outlet(name: str, timezone: str = "UTC", domain: str | None = None) -> Outlet:
    domain = domain or f"{name}.test"
    return Outlet(name=name, display_name=name, domains=(domain,), homepage=f"https://{domain}/",
                  timezone=timezone)


def make_crawler(tmp_path, for_outlet: Outlet, **settings):
    class FixtureSpider(scrapy.Spider):
        name = "fixture"

    base = {
        "NEWSCRAWL_OUTPUT_DIR": str(tmp_path / "output"),
        "NEWSCRAWL_STATE_DIR": str(tmp_path / "state"),
        "NEWSCRAWL_WORKERS": 0,  # stages inline; the pool has tests of its own
    }
    crawler = get_crawler(FixtureSpider, {**base, **settings})
    crawler.spider = FixtureSpider()
    crawler.spider.outlet = for_outlet
    return crawler


def run(crawler, items, stages=STAGES) -> tuple[list[dict], list[str]]:
    """One crawl's worth of items through the stages: (records out, drop messages)."""
    pipes = [stage.from_crawler(crawler) for stage in stages]
    for pipe in pipes:
        if hasattr(pipe, "open_spider"):
            pipe.open_spider()
    kept, dropped = [], []
    try:
        for item in items:
            try:
                for pipe in pipes:
                    item = pipe.process_item(item)
                    if inspect.iscoroutine(item):
                        item = asyncio.run(item)
                kept.append(item)
            except DropItem as exc:
                dropped.append(str(exc))
    finally:
        for pipe in pipes:
            if hasattr(pipe, "close_spider"):
                pipe.close_spider()
        # As the engine does once every pipeline is closed.
        crawler.signals.send_catch_log(signals.spider_closed, spider=crawler.spider, reason="finished")
    return kept, dropped


def raw_record(url: str, text: str, outlet_name: str, **fields) -> dict:
    """A record as the extract and decruft stages hand it on."""
    record = {
        "url": url,
        "outlet": outlet_name,
        "fetched_at": "2025-08-04T09:30:00+00:00",
        "discovered_via": "sitemap",
        "discovered_from": f"https://{outlet_name}.test/sitemap.xml",
        "http_status": 200,
        "title": "Floods force thousands from their homes",
        "description": None,
        "authors": [],
        "published_at": "2025-08-04T08:00:00+05:00",
        "modified_at": None,
        "language": "en",
        "site_name": outlet_name,
        "section": "World",
        "tags": [],
        "image": None,
        "canonical_url": None,
        "paywalled": False,
        "text": text,
        "cleaning": {"removed": {"share": 2}, "extractor": "trafilatura"},
        "_debug": "internal",
    }
    record.update(fields)
    return record
