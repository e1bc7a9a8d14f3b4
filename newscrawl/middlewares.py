"""Downloader middlewares: who we say we are, and how slowly a site asked us to go."""

from __future__ import annotations

from urllib.parse import urlsplit

from protego import Protego

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


class RobotsCrawlDelay:
    """Honours robots.txt `Crawl-delay`, which Scrapy's robots middleware ignores.

    It reads every robots.txt that passes through the downloader and keeps the download
    slot of that host at least that slow, after AutoThrottle has made its own adjustment (AutoThrottle
    lowers delays freely).
    """

    def __init__(self, crawler):
        self.crawler = crawler
        # The token robots.txt rules are matched against, as Scrapy's robots middleware does.
        self.agent = crawler.settings.get("ROBOTSTXT_USER_AGENT") or user_agent(crawler.settings).split("/")[0]
        self.max_delay = crawler.settings.getfloat("NEWSCRAWL_MAX_CRAWL_DELAY", 60.0)
        self.delays: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("NEWSCRAWL_HONOUR_CRAWL_DELAY", True):
            raise NotConfigured
        return cls(crawler)

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
        # Scrapy's robots middleware fetches robots.txt before anything else goes to the
        # host; its copy is the one that sets the delay in time (the spider's comes later).
        if urlsplit(response.url).path == "/robots.txt" and response.status == 200:
            try:
                parser = Protego.parse(response.body.decode("utf-8", "replace"))
                delay = parser.crawl_delay(self.agent)
            except Exception:  # a broken robots.txt is the robots middleware's concern
                delay = None
            if delay:
                key = self.crawler.engine.downloader.get_slot_key(request)
                self.delays[key] = min(float(delay), self.max_delay)
                self.crawler.stats.set_value("newscrawl/robots/crawl-delay", self.delays[key])
        self._enforce(request)
        return response
