"""Extension: each outlet's own log file, NEWSCRAWL_RUN_LOG, when one is set.

`newscrawl crawl` runs many outlets in one process; the process's log (its stderr) goes to
the fleet's log, and each outlet's lines also go to <NEWSCRAWL_LOG_DIR>/<outlet>/<UTC
timestamp>.log, which the run report names and retention prunes. A line is the outlet's
when it names the outlet's spider: Scrapy's own lines about a spider do (`extra=
{"spider": spider}`), as do the spider's logger and newscrawl's per-crawl lines (fetch
failures, refusals, faults, the lock, retention, the summary); or its outlet (`extra=
{"outlet": name}`). Lines that name neither stay in the fleet's log only.

A log file that cannot be opened (a full or read-only log folder) is the outlet's
storage fault (exit 8): the crawl does not start without its log.
"""

from __future__ import annotations

import logging
from pathlib import Path

from scrapy import signals
from scrapy.extensions.logcount import LogCount
from scrapy.utils.log import LogCounterHandler


def belongs_to(record: logging.LogRecord, crawler, outlet: str | None) -> bool | None:
    """True for a line of this crawler's (it names its spider or its outlet), False for a
    line of another crawler's, None for a line that names none (the process's own)."""
    spider = getattr(record, "spider", None)
    if spider is not None:
        return spider is crawler.spider
    named = getattr(record, "outlet", None)
    if named is not None:
        return named == outlet
    return None


def outlet_of(crawler) -> str | None:
    return getattr(getattr(crawler.spider, "outlet", None), "name", None)


class SpiderLogHandler(logging.FileHandler):
    """The lines of one crawler: those that name its spider (`extra={"spider": spider}`),
    or its outlet (`extra={"outlet": name}`, where no spider is at hand)."""

    def __init__(self, path: Path, crawler, level):
        super().__init__(path, encoding="utf-8")
        self.crawler = crawler
        self.outlet = outlet_of(crawler)
        self.setLevel(level)

    def filter(self, record: logging.LogRecord) -> bool:
        return bool(belongs_to(record, self.crawler, self.outlet)) and super().filter(record)


class OutletLogFile:
    def __init__(self, crawler, path: Path):
        from scrapy.utils.log import get_scrapy_root_handler

        self.handler = SpiderLogHandler(path, crawler, crawler.settings.get("LOG_LEVEL") or "DEBUG")
        root = get_scrapy_root_handler()
        self.handler.setFormatter(root.formatter if root is not None and root.formatter is not None else
                                  logging.Formatter(crawler.settings.get("LOG_FORMAT"),
                                                    crawler.settings.get("LOG_DATEFORMAT")))
        logging.root.addHandler(self.handler)
        crawler.signals.connect(self.close, signal=signals.engine_stopped)

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy.exceptions import NotConfigured

        name = crawler.settings.get("NEWSCRAWL_RUN_LOG")
        if not name or not crawler.settings.getbool("NEWSCRAWL_OUTLET_LOG_FILE", True):
            raise NotConfigured
        path = Path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return cls(crawler, path)
        except OSError as exc:
            from newscrawl.faults import FaultCheck, report, storage_fault

            report(crawler, storage_fault("log folder", path.parent, exc), close=False)
            FaultCheck.close_at_open(crawler)
            raise NotConfigured from None

    def close(self):
        logging.root.removeHandler(self.handler)
        self.handler.close()


class SpiderLogCounter(LogCounterHandler):
    def __init__(self, crawler, *args, **kwargs):
        super().__init__(crawler, *args, **kwargs)
        self.outlet = outlet_of(crawler)

    def filter(self, record: logging.LogRecord) -> bool:
        return belongs_to(record, self.crawler, self.outlet) is not False and super().filter(record)


class SpiderLogCount(LogCount):
    """Scrapy's LogCount (the `log_count/<LEVEL>` stats), counting only the lines of this
    crawler and the process's own: with one crawler per outlet in a process, Scrapy's
    counts every outlet's lines in every outlet's stats."""

    def spider_opened(self, spider) -> None:
        self.handler = SpiderLogCounter(self.crawler, level=self.crawler.settings.get("LOG_LEVEL"))
        logging.root.addHandler(self.handler)
