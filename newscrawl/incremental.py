"""Incremental crawling: a re-run fetches feeds and sitemaps again, but an article only
when it is new, or changed by its sitemap lastmod or by a conditional GET.

`IncrementalSkip` (spider middleware) drops requests for articles the outlet ledger has
settled (written, or dropped as a duplicate or reject) unless the sitemap's lastmod is
later than the fetch that settled it, whichever source found the article first, or a
recheck is due (NEWSCRAWL_RECHECK_AFTER seconds since the last check; 0 = never, so
without a lastmod an article is fetched once). It also notes the fetch facts of each
article page (request url, lastmod, ETag, Last-Modified) for the ledger, which stores
them only when the record is written or dropped: a kill in between leaves the article
unknown, and it is fetched again.

`ConditionalGet` (downloader middleware) sends If-None-Match / If-Modified-Since for
the articles that are refetched, and turns a 304 into a counted skip.

Why not Scrapy's JOBDIR: it persists the seen-request filter, so requests that were in
flight, or whose articles were held by the decruft warm-up, when the crawl was killed
are never fetched by the resumed job: lost articles. Rediscovering from feeds and
sitemaps costs a few requests; the ledger makes sure only unsettled articles follow.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.exceptions import IgnoreRequest

from newscrawl.items import RawArticle
from newscrawl.ledger import CHANGED, RECHECK, SKIP, ledger_for

META_KNOWN = "newscrawl_known"  # the ledger entry of an article refetched on purpose


class NotModified(IgnoreRequest):
    """A refetched article the server says has not changed."""


def _stat(crawler, key: str, count: int = 1) -> None:
    crawler.stats.inc_value(f"newscrawl/incremental/{key}", count)


class IncrementalSkip:
    def __init__(self, crawler):
        self.crawler = crawler
        self.recheck_after = crawler.settings.getfloat("NEWSCRAWL_RECHECK_AFTER", 0)
        self.enabled = crawler.settings.getbool("NEWSCRAWL_INCREMENTAL", True)
        self._skipped: set[str] = set()  # an article listed by several feeds counts once

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _filter(self, item):
        ledger = ledger_for(self.crawler)
        if ledger is None:
            return item
        if isinstance(item, RawArticle):
            self._note_facts(ledger, item)
            return item
        if not self.enabled or not isinstance(item, Request):
            return item
        hints = item.meta.get("hints") or {}
        verdict, url, entry = ledger.decide(item.url, hints.get("lastmod"), self.recheck_after)
        if verdict == SKIP:
            if url not in self._skipped:
                self._skipped.add(url)
                _stat(self.crawler, "skipped")
            return None
        if verdict in (CHANGED, RECHECK):
            _stat(self.crawler, verdict)
            item.meta[META_KNOWN] = {"url": url, "e": entry.get("e"), "l": entry.get("l")}
        return item

    def _note_facts(self, ledger, raw: RawArticle) -> None:
        headers = raw.get("headers") or {}
        final = raw.get("final_url") or raw.get("url")
        ledger.pending[final] = {
            "req": raw.get("url"), "m": (raw.get("hints") or {}).get("lastmod"),
            "e": headers.get("ETag"), "l": headers.get("Last-Modified"), "c": int(ledger.clock()),
        }

    def process_spider_output(self, response, result):
        for item in result:
            if (item := self._filter(item)) is not None:
                yield item

    async def process_spider_output_async(self, response, result):
        async for item in result:
            if (item := self._filter(item)) is not None:
                yield item


class ConditionalGet:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request):
        known = request.meta.get(META_KNOWN)
        if known:
            if known.get("e"):
                request.headers.setdefault("If-None-Match", known["e"])
            if known.get("l"):
                request.headers.setdefault("If-Modified-Since", known["l"])
        return None

    def process_response(self, request, response):
        known = request.meta.get(META_KNOWN)
        if known and response.status == 304:
            _stat(self.crawler, "not_modified")
            if (ledger := ledger_for(self.crawler)) is not None:
                ledger.checked(known["url"], (request.meta.get("hints") or {}).get("lastmod"))
            raise NotModified(f"not modified: {request.url}")
        return response
