"""Downloader middlewares: who we say we are, and how slowly a site asked us to go; the
robots.txt parser Scrapy's robots middleware builds."""

from __future__ import annotations

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.robotstxt import ProtegoRobotParser

from newscrawl import __version__


def user_agent(settings) -> str:
    contact = settings.get("NEWSCRAWL_CONTACT") or ""
    return settings.get("USER_AGENT") or f"newscrawl/{__version__} (+{contact})"


class UserAgentFromContact:
    """Sends an honest User-Agent naming the NEWSCRAWL_CONTACT, unless USER_AGENT is set."""

    def __init__(self, agent: str):
        self.agent = agent

    @classmethod
    def from_crawler(cls, crawler):
        return cls(user_agent(crawler.settings))

    def process_request(self, request):
        request.headers.setdefault(b"User-Agent", self.agent)
        return None


class RobotsTxt(ProtegoRobotParser):
    """Scrapy's Protego robots.txt parser (ROBOTSTXT_PARSER), which also tells the
    Sitemap lines. Scrapy's robots middleware fetches and parses each host's robots.txt
    once and announces the parser with the `robots_parsed` signal: the spider reads the
    sitemaps from it and RobotsCrawlDelay the Crawl-delay."""

    @property
    def sitemaps(self) -> list[str]:
        return list(self.rp.sitemaps)


class RobotsCrawlDelay:
    """Honours robots.txt `Crawl-delay`, which Scrapy's parsers read
    (`RobotParser.crawl_delay`) but nothing in Scrapy applies.

    Each robots.txt Scrapy's robots middleware parses sets the delay of that host's
    download slot; every request and response then keeps the slot at least that slow,
    after AutoThrottle has made its own adjustment (AutoThrottle lowers delays freely).
    """

    def __init__(self, crawler):
        self.crawler = crawler
        # The token robots.txt rules are matched against, as Scrapy's robots middleware does.
        self.agent = crawler.settings.get("ROBOTSTXT_USER_AGENT") or user_agent(crawler.settings).split("/")[0]
        self.max_delay = crawler.settings.getfloat("NEWSCRAWL_MAX_CRAWL_DELAY", 60.0)
        self.delays: dict[str, float] = {}
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("NEWSCRAWL_HONOUR_CRAWL_DELAY", True):
            raise NotConfigured
        return cls(crawler)

    def robots_parsed(self, robotparser, request):
        """Sent before the request that made Scrapy fetch robots.txt goes on: the delay is
        in place for the host's first page."""
        delay = robotparser.crawl_delay(self.agent)
        if delay:
            key = self.crawler.engine.downloader.get_slot_key(request)
            self.delays[key] = min(float(delay), self.max_delay)
            self.crawler.stats.set_value("newscrawl/robots/crawl-delay", self.delays[key])

    def _enforce(self, request) -> None:
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        delay = self.delays.get(key)
        slot = downloader.slots.get(key)
        if delay and slot is not None:
            # The slot waits delay * (1 ± jitter): raise it so the shortest wait is the
            # crawl delay itself.
            floor = delay / max(1.0 - slot.jitter, 0.1)
            if slot.delay < floor:
                slot.delay = floor

    def process_request(self, request):
        self._enforce(request)
        return None

    def process_response(self, request, response):
        self._enforce(request)
        return response
