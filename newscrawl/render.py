"""A real browser for the outlets whose pages only a browser can read.

An outlet record's `render = true` sends the outlet's pages through headless Chromium
(Debian's `chromium`, at NEWSCRAWL_CHROMIUM_PATH) with scrapy-playwright, all but its
homepage and the record's `sections` (listing pages, whose links are usually in their
HTML); `render = "all"` sends those too. robots.txt, sitemaps and feeds are never
rendered. Only the crawler of such an outlet gets the browser's download handler
(newscrawl/render_handler.py) and this module's middleware (`render_settings`, which the
spider's `update_settings` applies): an outlet without `render` never starts a browser,
in a process of its own or beside rendered outlets in a fleet.

A rendered page is bounded: it loads within NEWSCRAWL_RENDER_TIMEOUT seconds, then its
scripts get at most NEWSCRAWL_RENDER_SETTLE seconds for the network to go quiet (the
article they fetch and show); at most NEWSCRAWL_RENDER_MAX_PAGES pages are open at once;
images, media and fonts are not loaded; no frame navigates off the outlet's domains; and
every connection the browser makes passes the crawl's address guard
(newscrawl/render_proxy.py). The page itself is fetched by Scrapy, under every guard,
and given to the browser (`RenderRequests`). The response the spider gets is the page as
the browser built it, which goes on like any page: the gate, extraction, the archive
(after the fetch, marked as rendered).
"""

from __future__ import annotations

import os
from pathlib import Path

from scrapy.exceptions import NotConfigured

DEFAULT_CHROMIUM = "/usr/bin/chromium"
ALL = "all"
# The meta key of the requests for the outlet's listing pages (its homepage and sections).
LISTING = "listing"
HANDLER = "newscrawl.render_handler.RenderDownloadHandler"
MIDDLEWARE = "newscrawl.render.RenderRequests"
# In the chain of responses (newscrawl/settings.py), after decompression and the charset
# repair, whose text it hands the browser, and after the archive's capture.
MIDDLEWARE_ORDER = 580


def chromium_path(settings) -> str:
    """NEWSCRAWL_CHROMIUM_PATH: the setting, else the environment variable, else Debian's."""
    return settings.get("NEWSCRAWL_CHROMIUM_PATH") or os.environ.get("NEWSCRAWL_CHROMIUM_PATH") or DEFAULT_CHROMIUM


def chromium_problem(path: str) -> str | None:
    """What keeps Chromium at `path` from running, said for a person; None when it can."""
    from importlib.util import find_spec

    if find_spec("scrapy_playwright") is None or find_spec("playwright") is None:
        return "render needs scrapy-playwright: install newscrawl with its render extra (pip install 'newscrawl[render]')"
    if not Path(path).is_file():
        return (f"render needs Chromium, and there is none at {path} (NEWSCRAWL_CHROMIUM_PATH): "
                "install it (apt-get install chromium) or set NEWSCRAWL_CHROMIUM_PATH")
    if not os.access(path, os.X_OK):
        return f"render needs Chromium, and {path} (NEWSCRAWL_CHROMIUM_PATH) is not executable"
    return None


def render_settings(settings) -> None:
    """Gives a crawler's settings what rendering takes: the browser's download handler
    for http and https (it passes every request not marked for rendering to Scrapy's
    own), the middleware that marks requests, and scrapy-playwright's settings from
    newscrawl's. For an outlet with `render` only (NewsSpider.update_settings)."""
    handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
    handlers.update({"http": HANDLER, "https": HANDLER})
    settings.set("DOWNLOAD_HANDLERS", handlers, priority="spider")
    # At the spider's priority, as the handlers: the crawl command's runner merges its own
    # settings into each crawler's, over those at the project's priority.
    settings.set("DOWNLOADER_MIDDLEWARES", {**settings.getdict("DOWNLOADER_MIDDLEWARES"), MIDDLEWARE: MIDDLEWARE_ORDER},
                 priority="spider")
    timeout_ms = int(settings.getfloat("NEWSCRAWL_RENDER_TIMEOUT", 30) * 1000)
    for key, value in {
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": max(1, settings.getint("NEWSCRAWL_RENDER_MAX_PAGES", 2)),
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_ms,
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": chromium_path(settings),
            "headless": True,
            "timeout": timeout_ms,
            # No UDP of WebRTC beside the proxy, no background fetches of Chrome's own, no
            # names resolved ahead by the browser (the proxy resolves each one it is asked for).
            "args": ["--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                     "--disable-background-networking", "--disable-component-update", "--no-first-run",
                     "--disable-dev-shm-usage", "--dns-prefetch-disable"],
        },
    }.items():
        settings.set(key, value, priority="spider")


def render_mode(outlet) -> str | None:
    """"all", "articles" or None (no rendering) for an outlet record's `render`."""
    value = getattr(outlet, "render", False)
    if value == ALL:
        return ALL
    return "articles" if value is True else None


async def settle(page, seconds: float) -> None:
    """Waits, at most `seconds`, for a loaded page's network to go quiet: the scripts that
    fetch the article and build the body run after the load."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_load_state("networkidle", timeout=seconds * 1000)
    except PlaywrightTimeout:
        pass  # a page that keeps polling: taken as it stands


# The request meta key of a page to render: the page as Scrapy fetched it, for the browser.
FETCHED = "newscrawl_fetched"


class RenderRequests:
    """Downloader middleware, in the crawler of an outlet with `render` only.

    A page to render is first fetched as any page, by Scrapy, under every guard (its
    redirects followed by Scrapy's redirect middleware, each hop checked), once. The
    response is then handed to the browser: the same request goes again, marked for
    scrapy-playwright, with the page it fetched (`FETCHED`), which the browser is given
    for its navigation (`serve_fetched`) rather than fetching it again; what the page's
    scripts load, the browser fetches through the guard proxy. What comes back is
    checked: a rendered page that ended off the outlet's domains, or that is larger than
    DOWNLOAD_MAXSIZE, is refused (`newscrawl/refused/offsite`, `.../too-large`).

    Without Chromium at NEWSCRAWL_CHROMIUM_PATH, the crawl ends as it starts (exit code 2)."""

    def __init__(self, crawler):
        self.crawler = crawler
        outlet = getattr(crawler.spidercls, "outlet", None)
        self.mode = render_mode(outlet)
        if self.mode is None:
            raise NotConfigured
        s = crawler.settings
        problem = chromium_problem(chromium_path(s))
        if problem:
            from newscrawl.exitcodes import ConfigError

            raise ConfigError(problem)
        self.settle_seconds = max(0.0, s.getfloat("NEWSCRAWL_RENDER_SETTLE", 3))
        self.max_size = s.getint("DOWNLOAD_MAXSIZE")

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _renders(self, request) -> bool:
        from scrapy.utils.httpobj import urlparse_cached

        meta = request.meta
        if meta.get("robots") or "nesting" in meta or meta.get("expect") == "feed":
            return False  # robots.txt, sitemaps, feeds: XML and text, never a page to build
        if urlparse_cached(request).path == "/robots.txt":
            return False
        return self.mode == ALL or not meta.get(LISTING)

    def process_response(self, request, response):
        from scrapy.http import HtmlResponse

        if "playwright" in response.flags:
            return self._rendered(request, response)
        if FETCHED in request.meta or response.status != 200 or not isinstance(response, HtmlResponse) \
                or not self._renders(request):
            return response
        from scrapy_playwright.page import PageMethod

        return request.replace(dont_filter=True, meta={
            **request.meta,
            FETCHED: {"url": response.url, "html": response.text},
            "playwright": True,
            "playwright_context": "render",
            "playwright_context_kwargs": {
                "service_workers": "block",  # a worker's fetches would pass no route
                "accept_downloads": False,
            },
            "playwright_page_init_callback": serve_fetched,
            "playwright_page_methods": [PageMethod(settle, self.settle_seconds)],
        })

    def _rendered(self, request, response):
        from newscrawl.guard import refuse

        if not self.crawler.spider.outlet.owns(response.url):
            # A script sent the page off the outlet's domains: the navigation was refused,
            # and what is left is the browser's error page.
            raise refuse(self.crawler, "offsite", request, f"the page left for another site ({response.url})")
        if self.max_size and len(response.body) > self.max_size:
            raise refuse(self.crawler, "too-large", request, f"{len(response.body)} bytes rendered")
        self.crawler.stats.inc_value("newscrawl/render/pages")
        return response


async def serve_fetched(page, request) -> None:
    """Gives the browser the page Scrapy fetched for its navigation to the request's URL
    (through a redirect to where the fetch ended, when it ended elsewhere), once."""
    fetched = request.meta[FETCHED]
    final = fetched["url"]

    async def redirect(route) -> None:
        await route.fulfill(status=302, headers={"location": final})

    async def document(route) -> None:
        await route.fulfill(status=200, headers={"content-type": "text/html; charset=utf-8"},
                            body=fetched["html"].encode("utf-8"))

    # Registered after scrapy-playwright's route of every request: Playwright tries the
    # routes last registered first.
    if final != request.url:
        await page.route(lambda url: url == request.url, redirect, times=1)
    await page.route(lambda url: url == final, document, times=1)
