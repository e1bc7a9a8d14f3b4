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
import threading
from pathlib import Path

from scrapy import signals
from scrapy.extensions.logcount import LogCount
from scrapy.utils.log import LogCounterHandler


def outlet_of(crawler) -> str | None:
    return getattr(getattr(crawler.spider, "outlet", None), "name", None)


class CrawlerLogRouter(logging.Handler):
    """One handler on the root logger for all the crawlers of the process (one per
    outlet): each line goes to the handlers of the crawler it names, by its spider
    (`extra={"spider": spider}`) or its outlet (`extra={"outlet": name}`, where no spider
    is at hand); a line that names neither, the process's own, goes to the handlers that
    asked for those too. A line costs one look-up whatever the number of outlets, where a
    filtering handler per crawler on the root logger cost one filter per crawler."""

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()
        # Replaced, never changed in place, so that emit() reads them without the lock.
        self._by_spider: dict[int, tuple[logging.Handler, ...]] = {}
        self._by_outlet: dict[str, tuple[logging.Handler, ...]] = {}
        self._unnamed: tuple[logging.Handler, ...] = ()

    def add(self, crawler, handler: logging.Handler, *, unnamed: bool = False) -> None:
        with self._lock:
            if not (self._by_spider or self._unnamed):
                logging.root.addHandler(self)
            key, outlet = id(crawler.spider), outlet_of(crawler)
            self._by_spider = {**self._by_spider, key: self._by_spider.get(key, ()) + (handler,)}
            if outlet is not None:
                self._by_outlet = {**self._by_outlet, outlet: self._by_outlet.get(outlet, ()) + (handler,)}
            if unnamed:
                self._unnamed += (handler,)

    def remove(self, handler: logging.Handler) -> None:
        with self._lock:
            def without(table: dict) -> dict:
                kept = {k: tuple(h for h in hs if h is not handler) for k, hs in table.items()}
                return {k: hs for k, hs in kept.items() if hs}

            self._by_spider, self._by_outlet = without(self._by_spider), without(self._by_outlet)
            self._unnamed = tuple(h for h in self._unnamed if h is not handler)
            if not (self._by_spider or self._unnamed):
                logging.root.removeHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        spider = getattr(record, "spider", None)
        if spider is not None:
            targets = self._by_spider.get(id(spider), ())
        elif (outlet := getattr(record, "outlet", None)) is not None:
            targets = self._by_outlet.get(outlet, ())
        else:
            targets = self._unnamed
        for handler in targets:
            if record.levelno >= handler.level:
                handler.handle(record)


ROUTER = CrawlerLogRouter()


class OutletLogFile:
    def __init__(self, crawler, path: Path):
        from scrapy.utils.log import get_scrapy_root_handler

        self.handler = logging.FileHandler(path, encoding="utf-8")
        self.handler.setLevel(crawler.settings.get("LOG_LEVEL") or "DEBUG")
        root = get_scrapy_root_handler()
        self.handler.setFormatter(root.formatter if root is not None and root.formatter is not None else
                                  logging.Formatter(crawler.settings.get("LOG_FORMAT"),
                                                    crawler.settings.get("LOG_DATEFORMAT")))
        ROUTER.add(crawler, self.handler)
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
        ROUTER.remove(self.handler)
        self.handler.close()


class SpiderLogCount(LogCount):
    """Scrapy's LogCount (the `log_count/<LEVEL>` stats), counting only the lines of this
    crawler and the process's own: with one crawler per outlet in a process, Scrapy's
    counts every outlet's lines in every outlet's stats."""

    def spider_opened(self, spider) -> None:
        self.handler = LogCounterHandler(self.crawler, level=self.crawler.settings.get("LOG_LEVEL"))
        ROUTER.add(self.crawler, self.handler, unnamed=True)

    def spider_closed(self, spider, reason: str) -> None:
        if self.handler:
            ROUTER.remove(self.handler)
            self.handler = None
