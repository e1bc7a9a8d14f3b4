"""The project's Scrapy settings, and one crawl run in this process: what the `newscrawl`
command (newscrawl/cli.py) and the demo (newscrawl/demo/run.py) both use."""

from __future__ import annotations

import os


def project_settings(overrides: dict | None = None):
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "newscrawl.settings")
    from scrapy.utils.project import get_project_settings

    settings = get_project_settings()
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings


def run_crawl(spider_cls, settings, **spider_kwargs) -> dict:
    """Runs one spider to the end in this process and returns its stats."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, **spider_kwargs)
    process.start()
    return crawler.stats.get_stats()
