"""What the crawlers of one process share.

`newscrawl crawl` runs many outlets in one process, one Scrapy crawler per outlet (each
with its own downloader, so its own politeness, and its own stats, lock, ledger, learned
boilerplate and run report). A few things are worth holding once for all of them: the
worker pool (one per machine's cores, not one per outlet), the near-duplicate index
(every outlet's articles are compared with every other's) and the connection to the
global dedupe state (one page cache of that file, not one per outlet). Each such
resource is built
by the first crawler that asks for it, held by every crawler that asks, released by each
when its spider has closed (or its engine stopped, for a crawler that never opened one)
and closed with the last holder. `close_all` ends whatever is left when the process's
crawls are over.

Scrapy has no place for objects shared by several crawlers (its extensions and
pipelines are per crawler), hence this one registry, keyed by what makes two resources
the same (the pool's size, the store's location).
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

logger = logging.getLogger(__name__)


@dataclass
class _Entry:
    value: Any
    close: Callable[[Any], None] | None
    holders: set[int] = field(default_factory=set)


class SharedResources:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[tuple, _Entry] = {}

    def acquire(self, crawler, key: tuple, build: Callable[[], Any], close: Callable[[Any], None] | None = None):
        """The resource `key`, built by `build()` if no crawler holds it; `crawler` holds
        it until its spider closes."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(build(), close)
            if id(crawler) in entry.holders:
                return entry.value
            entry.holders.add(id(crawler))
        from scrapy import signals

        held = weakref.ref(crawler)  # the receivers outlive the crawl (weak=False): they must not keep the crawler

        def release(**_kwargs) -> None:
            if (holder := held()) is not None:
                self.release(holder, key)

        crawler.signals.connect(release, signal=signals.spider_closed, weak=False)
        crawler.signals.connect(release, signal=signals.engine_stopped, weak=False)
        return entry.value

    def holds(self, crawler, key: tuple) -> bool:
        with self._lock:
            entry = self._entries.get(key)
            return entry is not None and id(crawler) in entry.holders

    def release(self, crawler, key: tuple) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or id(crawler) not in entry.holders:
                return
            entry.holders.discard(id(crawler))
            if entry.holders:
                return
            del self._entries[key]
        self._close(key, entry)

    def close_all(self) -> None:
        with self._lock:
            entries, self._entries = self._entries, {}
        for key, entry in entries.items():
            self._close(key, entry)

    @staticmethod
    def _close(key: tuple, entry: _Entry) -> None:
        if entry.close is None:
            return
        try:
            entry.close(entry.value)
        except Exception:
            logger.exception("newscrawl: closing the shared %s failed", key[0])


SHARED = SharedResources()
