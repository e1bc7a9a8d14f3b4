"""The news spider: discovery, fetch and the article gate for one outlet.

Discovery starts from robots.txt (its Sitemap: lines, read from the parser Scrapy's
robots middleware builds), the homepage (feed links and section links), and whatever
the outlet record adds (sitemaps, feeds, section pages).
Every article request carries how it was found. Pages that pass the article gate are
handed to the item pipelines as RawArticle items; every other page is only followed
for links, to the outlet's section depth.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.http import TextResponse
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler, load_object

from newscrawl import clock, discovery
from newscrawl.gate import url_verdict
from newscrawl.guard import Refused, failure_kind
from newscrawl.incremental import NotModified
from newscrawl.items import RawArticle
from newscrawl.outlets import Outlet, OutletConfigError, generic_outlet
from newscrawl.stop import NotFetched
from newscrawl.urls import canonicalize_url, is_fetchable_url

# A sitemap index may list other indexes; real sites nest two levels at most.
MAX_SITEMAP_NESTING = 4
KEPT_HEADERS = ("Content-Type", "Last-Modified", "ETag", "Date", "Content-Language")


# Newest first: a crawl cut short (page budget, timeout, a kill) has fetched the news,
# not the archive at the end of a sitemap. A few coarse buckets, since Scrapy keeps one
# queue per priority value.
AGE_BUCKETS = ((timedelta(days=1), 0), (timedelta(days=3), -1), (timedelta(days=14), -2),
               (timedelta(days=90), -3))


def recency_priority(date: str | None) -> int:
    """0 for undated URLs and those dated within a day, lower for older ones."""
    when = discovery.entry_datetime(date)
    if when is None:
        return 0
    age = clock.now() - when
    return next((priority for limit, priority in AGE_BUCKETS if age <= limit), -4)


def utc_now() -> str:
    return clock.now().isoformat(timespec="seconds")


class NewsSpider(scrapy.Spider):
    """`scrapy crawl news -a url=URL [-a outlet=NAME]`: any site, from its homepage,
    a sitemap or a feed URL. Per-outlet spiders are subclasses with `outlet` set."""

    name = "news"
    outlet: Outlet | None = None

    def __init__(self, url: str | None = None, outlet: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.start_url = url
        self._max_age: timedelta | None = None
        self._gate_options: dict | None = None
        if type(self).outlet is None:
            if not url:
                raise OutletConfigError("the news spider needs a start URL: scrapy crawl news -a url=URL")
            self.outlet = generic_outlet(url, name=outlet)
        # The host whose robots.txt names the outlet's sitemaps, as requests spell it, and
        # whether its Sitemap lines were followed (or, without any, the usual sitemap tried).
        self._robots_netloc = urlsplit(canonicalize_url(self.outlet.homepage)).netloc
        self._robots_done = False

    @classmethod
    def update_settings(cls, settings):
        super().update_settings(settings)
        # An outlet whose pages a browser builds gets the browser, in its own crawler only.
        from newscrawl.render import render_mode, render_settings

        if render_mode(cls.outlet):
            render_settings(settings)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider.spider_idle, signal=signals.spider_idle)
        return spider

    # --- helpers -----------------------------------------------------------------
    def _stat(self, key: str, count: int = 1) -> None:
        self.crawler.stats.inc_value(f"newscrawl/{key}", count)

    def _follow(self, url: str, callback, *, article_entry: bool = False, **meta) -> scrapy.Request | None:
        """A request for a URL of this outlet, canonicalised so that tracking-parameter
        variants of one article are fetched once; None for anything off the outlet.

        `article_entry`: the URL is a sitemap or feed entry, fetched only to be an article
        (its links are never followed), so a URL the article gate refuses by itself (the
        outlet's allow and deny patterns, the built-in deny list) is not fetched at all.
        The gate judges a page by the URL it ended at, so an entry that would redirect to
        an article URL is lost; sites list their article URLs, not redirects, in both."""
        if not url or not is_fetchable_url(url):
            return None
        url = canonicalize_url(url)
        if not self.outlet.owns(url):
            self._stat("discovery/offsite")
            return None
        if article_entry and (verdict := url_verdict(url, self.outlet)) is not None:
            self._stat(f"discovery/not-article/{verdict.reason.split(':')[0]}")
            return None
        hints = meta.get("hints") or {}
        priority = recency_priority(hints.get("published_at") or hints.get("lastmod"))
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta, priority=priority)

    def _too_old(self, *dates: str | None) -> bool:
        """With NEWSCRAWL_MAX_AGE_DAYS, an entry of a sitemap, sitemap index or feed whose
        first readable date is older than that is not followed (undated entries are)."""
        if self._max_age is None:  # read once: sitemaps have tens of thousands of entries
            self._max_age = timedelta(days=max(self.settings.getfloat("NEWSCRAWL_MAX_AGE_DAYS", 0), 0))
        if not self._max_age:
            return False
        cutoff = clock.now() - self._max_age
        when = next((dt for dt in map(discovery.entry_datetime, dates) if dt is not None), None)
        if when is not None and when < cutoff:
            self._stat("discovery/too-old")
            return True
        return False

    def on_error(self, failure):
        if failure.check(NotModified):
            return  # an unchanged article, counted by the incremental middleware
        if failure.check(NotFetched):
            return  # dropped by a graceful stop (newscrawl/stop.py): fetched by the next run
        request = failure.request
        family, kind = failure_kind(failure.value)
        if not isinstance(failure.value, Refused):  # newscrawl.guard counts its own refusals
            self._stat(f"{family}/{kind}")
        self.logger.warning("fetch failed: %s %s", kind, request.url)
        if request.meta.get("robots"):
            self._robots_done = True
            yield from self._guess_sitemaps()

    # --- start ---------------------------------------------------------------------
    async def start(self):
        o = self.outlet
        if not self.settings.getbool("ROBOTSTXT_OBEY"):
            # Scrapy's robots middleware is off: robots.txt is fetched for its sitemaps only.
            yield scrapy.Request(
                urljoin(o.homepage, "/robots.txt"), callback=self.parse_robots, errback=self.on_error,
                dont_filter=True, meta={"robots": True}, priority=10,
            )
        # The listing pages (newscrawl/render.py: rendered with `render = "all"` only).
        if self.start_url:
            request = self._follow(self.start_url, self.parse_any, via=discovery.VIA_START_URL,
                                   section_depth=0, listing=True)
            if request:
                yield request
        request = self._follow(o.homepage, self.parse_any, via=discovery.VIA_HOMEPAGE, section_depth=0, listing=True)
        if request:
            yield request
        for url in o.sitemaps:
            if request := self._follow(url, self.parse_any, via=discovery.VIA_SITEMAP, nesting=0):
                yield request
        for url in o.feeds:
            if request := self._follow(url, self.parse_any, via=None, expect="feed"):
                yield request
        for url in o.sections:
            if request := self._follow(url, self.parse_any, via=discovery.VIA_SECTION, section_depth=1, listing=True):
                yield request

    def _guess_sitemaps(self):
        """Where robots.txt names no sitemap and the record lists none, try the usual place."""
        if not self.outlet.sitemaps:
            url = urljoin(self.outlet.homepage, "/sitemap.xml")
            if request := self._follow(url, self.parse_any, via=discovery.VIA_SITEMAP, nesting=0):
                yield request

    def robots_parsed(self, robotparser, request):
        """Scrapy's robots middleware has fetched and parsed a host's robots.txt (once per
        host); the homepage's names the sitemaps to follow."""
        if not self._robots_done and urlparse_cached(request).netloc == self._robots_netloc:
            robots = f"{urlparse_cached(request).scheme}://{self._robots_netloc}/robots.txt"
            for sitemap in self._robots_sitemaps(robotparser, robots):
                self.crawler.engine.crawl(sitemap)

    def spider_idle(self):
        """No robots.txt was read for the homepage's host (its download failed): the
        usual sitemap is tried before the crawl ends."""
        if not self._robots_done:
            self._robots_done = True
            for request in self._guess_sitemaps():
                self.crawler.engine.crawl(request)  # a request waiting: the crawl goes on

    def parse_robots(self, response):
        """robots.txt fetched by the spider, where Scrapy's robots middleware is off."""
        parser = build_from_crawler(load_object(self.settings["ROBOTSTXT_PARSER"]), self.crawler, response.body)
        yield from self._robots_sitemaps(parser, response.url)

    def _robots_sitemaps(self, robotparser, robots_url: str):
        self._robots_done = True
        # Another ROBOTSTXT_PARSER may not tell the sitemaps: the usual one is tried.
        sitemaps = discovery.robots_sitemaps(getattr(robotparser, "sitemaps", None) or (), robots_url)
        self._stat("discovery/robots-sitemaps", len(sitemaps))
        for url in sitemaps:
            if request := self._follow(url, self.parse_any, via=discovery.VIA_ROBOTS_SITEMAP, nesting=0):
                yield request
        if not sitemaps:
            yield from self._guess_sitemaps()

    # --- routing -------------------------------------------------------------------
    async def parse_any(self, response):
        """Routes a response by what it is, not by what we expected it to be: a feed URL
        in an outlet record may now serve a sitemap, a homepage may redirect to a feed."""
        kind = discovery.sniff(response.body, response.headers.get("Content-Type", b"").decode("latin-1"))
        if kind == "html" and isinstance(response, TextResponse):
            async for output in self.parse_page(response):
                yield output
            return
        if kind in ("sitemap", "sitemap-index"):
            outputs = self.parse_sitemap(response)
        elif kind == "feed":
            outputs = self.parse_feed(response)
        elif response.meta.get("expect") == "feed":  # count why it is not a feed
            outputs = self.parse_feed(response)
        elif "nesting" in response.meta:  # requested as a sitemap: count why it is not one
            outputs = self.parse_sitemap(response)
        else:
            self._stat(f"skipped/not-html/{kind}")
            return
        for output in outputs:
            yield output

    def parse_sitemap(self, response):
        try:
            sitemap = discovery.parse_sitemap(
                response.body, response.url, max_size=self.settings.getint("DOWNLOAD_MAXSIZE")
            )
        except discovery.DiscoveryError as exc:
            self._stat(f"discovery/sitemap-error/{exc.kind}")
            self.logger.warning("bad sitemap %s: %s", response.url, exc)
            return
        self._count_unread(sitemap, "sitemap")
        nesting = response.meta.get("nesting", 0)
        if sitemap.kind == "index":
            self._stat("discovery/sitemap-indexes")
            if nesting >= MAX_SITEMAP_NESTING:
                self._stat("discovery/sitemap-too-deep")
                return
            for entry in sitemap.entries:
                if self._too_old(entry.lastmod):  # an archive sitemap untouched since the cut-off
                    continue
                if request := self._follow(entry.loc, self.parse_any, via=discovery.VIA_SITEMAP_INDEX,
                                           nesting=nesting + 1):
                    yield request
            return
        via = discovery.VIA_NEWS_SITEMAP if sitemap.is_news else response.meta.get("via") or discovery.VIA_SITEMAP
        self._stat("discovery/sitemap-urls", len(sitemap.entries))
        for entry in sitemap.entries:
            if self._too_old(entry.news_published, entry.lastmod):
                continue
            hints = {"title": entry.news_title, "published_at": entry.news_published, "lastmod": entry.lastmod}
            if request := self._follow(entry.loc, self.parse_any, article_entry=True, via=via,
                                       discovered_from=response.url, hints={k: v for k, v in hints.items() if v}):
                yield request

    def _count_unread(self, parsed, what: str) -> None:
        """What a sitemap or feed held that is lost: entries without a usable URL, and the
        rest of a document that broke off (what came before it is followed)."""
        if parsed.skipped:
            self._stat(f"discovery/{what}-entries-skipped", parsed.skipped)
        if parsed.recovered:
            self._stat(f"discovery/{what}-recovered")

    def parse_feed(self, response):
        try:
            feed = discovery.parse_feed(response.body, response.url)
        except discovery.DiscoveryError as exc:
            self._stat(f"discovery/feed-error/{exc.kind}")
            self.logger.warning("bad feed %s: %s", response.url, exc)
            return
        self._count_unread(feed, "feed")
        via = discovery.VIA_FEED.get(feed.kind, discovery.VIA_FEED_RSS)
        self._stat("discovery/feed-urls", len(feed.entries))
        for entry in feed.entries:
            if self._too_old(entry.published):
                continue
            hints = {"title": entry.title, "published_at": entry.published}
            if request := self._follow(entry.link, self.parse_any, article_entry=True, via=via,
                                       discovered_from=response.url, hints={k: v for k, v in hints.items() if v}):
                yield request

    async def parse_page(self, response):
        """An HTML page goes to the worker pool for the article gate (newscrawl.page_job,
        through pipelines/runner.py): an article is handed to the item pipelines as a
        RawArticle; a homepage or section page gives the links to follow. The reactor
        never parses a page."""
        from newscrawl.page_data import DEFAULT_MAX_BYTES
        from newscrawl.page_job import page_job
        from pipelines.drops import WorkerLost
        from pipelines.runner import runner_for

        meta = response.meta
        depth = meta.get("section_depth")
        follow = depth is not None and depth <= self.outlet.section_depth
        page = dict(
            url=response.request.url,
            final_url=response.url,
            http_status=response.status,
            headers={h: response.headers.get(h).decode("latin-1") for h in KEPT_HEADERS
                     if response.headers.get(h)},
            html=response.text,
            outlet=self.outlet.name,
            discovered_via=meta.get("via") or discovery.VIA_START_URL,
            discovered_from=meta.get("discovered_from"),
            fetched_at=utc_now(),
            hints=meta.get("hints") or {},
            rendered="playwright" in response.flags,
        )
        if self._gate_options is None:  # read once
            self._gate_options = {"min_chars": self.settings.getint("NEWSCRAWL_MIN_ARTICLE_CHARS", 400),
                                  "page_data_max_bytes": self.settings.getint(
                "NEWSCRAWL_PAGE_DATA_MAX_BYTES", DEFAULT_MAX_BYTES)}
        options = {**self._gate_options, "feed_links": follow and depth == 0, "page_links": follow}
        try:
            result = await runner_for(self.crawler).run(page_job, page, self.outlet, options)
        except WorkerLost as exc:  # counted by the pool
            self.logger.error("page lost: %s (%s)", response.url, exc)
            return
        if result["article"]:
            self._stat("gate/article")
            yield RawArticle(**page)
            return
        self._stat(f"gate/not-article/{result['reason'].split(':')[0]}")
        for url in result.get("feed_links", ()):
            if request := self._follow(url, self.parse_any, via=None, discovered_from=response.url, expect="feed"):
                yield request
        via = discovery.VIA_HOMEPAGE if depth == 0 else discovery.VIA_SECTION
        for url in result.get("page_links", ()):
            if request := self._follow(url, self.parse_any, via=via, discovered_from=response.url,
                                       section_depth=depth + 1):
                yield request
