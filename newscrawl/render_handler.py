"""The download handler of an outlet with `render` (newscrawl/render.py installs it for
that outlet's crawler alone): scrapy-playwright's, which renders the requests marked
`playwright` in headless Chromium and hands every other one to Scrapy's own HTTP
handler, configured for newscrawl.

- The browser is Debian's Chromium at NEWSCRAWL_CHROMIUM_PATH (Playwright's own browser
  downloads are not used; newscrawl.render.RenderRequests, built with this handler,
  ends the crawl at its start, exit code 2, when there is none).
- Every connection the browser makes goes through a GuardProxy (newscrawl/render_proxy.py)
  on 127.0.0.1, which applies the crawl's address guard; it listens from the engine's
  start, before the browser is launched at the first rendered page.
- Each request of a page is routed through `_aborted` (but the navigation to the page
  itself, which newscrawl.render.serve_fetched answers): images, media and fonts
  (NEWSCRAWL_RENDER_BLOCKED_RESOURCES) are not loaded (`newscrawl/render/blocked/<type>`);
  a navigation off the outlet's domains, of a frame or of the page (a script sending it
  elsewhere: the page is then lost, refused as offsite) is refused
  (`newscrawl/refused/offsite-navigation`); and with NEWSCRAWL_RENDER_OTHER_HOSTS off, so
  is any other request off them (`newscrawl/refused/offsite-resource`; before any name
  is resolved).

scrapy-playwright starts its Playwright driver when the engine starts; the browser itself
only at the first page it renders.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from scrapy import signals
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from newscrawl.guard import AddressPolicy, count_refusal
from newscrawl.render_proxy import GuardProxy

DEFAULT_BLOCKED = ("image", "media", "font")
# One handler a crawler, for http and https alike: Scrapy builds a handler per scheme, and
# each of scrapy-playwright's would start a Playwright driver and a browser of its own.
_HANDLERS: WeakKeyDictionary = WeakKeyDictionary()


class RenderDownloadHandler(ScrapyPlaywrightDownloadHandler):
    @classmethod
    def from_crawler(cls, crawler):
        handler = _HANDLERS.get(crawler)
        if handler is None:
            handler = _HANDLERS[crawler] = cls(crawler)
        return handler

    def __init__(self, crawler):
        super().__init__(crawler)
        self.crawler = crawler
        s = crawler.settings
        self.blocked = frozenset(s.getlist("NEWSCRAWL_RENDER_BLOCKED_RESOURCES", DEFAULT_BLOCKED))
        self.other_hosts = s.getbool("NEWSCRAWL_RENDER_OTHER_HOSTS", True)
        self.proxy = GuardProxy(AddressPolicy(s), self._refused, max_bytes=s.getint("DOWNLOAD_MAXSIZE"),
                                timeout=s.getfloat("NEWSCRAWL_RENDER_TIMEOUT", 30))
        # The proxy's port is known now, and the browser is launched later, with these.
        self.config.launch_options = {**self.config.launch_options, "proxy": {"server": self.proxy.url}}
        self.abort_request = self._aborted
        self._closed = False
        crawler.signals.connect(self._start_proxy, signal=signals.engine_started)
        crawler.signals.connect(self._close_proxy, signal=signals.engine_stopped)

    async def close(self) -> None:
        # Called once for each scheme the handler serves.
        if not self._closed:
            self._closed = True
            await super().close()

    async def _start_proxy(self) -> None:
        await self.proxy.start()

    async def _close_proxy(self) -> None:
        await self.proxy.close()

    def _refused(self, url: str, address: str) -> None:
        count_refusal(self.crawler, "private-address", url, f"{address} (rendered page)")

    async def _aborted(self, request) -> bool:
        """Whether the browser's request is not made (scrapy-playwright's abort hook)."""
        kind = request.resource_type
        if kind in self.blocked:
            self.crawler.stats.inc_value(f"newscrawl/render/blocked/{kind}")
            return True
        if self.crawler.spider.outlet.owns(request.url):
            return False
        if request.is_navigation_request():
            count_refusal(self.crawler, "offsite-navigation", request.url, "(rendered page)")
            return True
        if not self.other_hosts:
            count_refusal(self.crawler, "offsite-resource", request.url, "(rendered page)")
            return True
        return False
