"""Downloader middlewares that keep an unattended crawl inside what it may fetch and
read, each configured from settings and each counting what it refuses.

- `OutletScope`: Scrapy's offsite middleware keeping requests on the outlet's domains
  (port-aware, as `Outlet.owns`), redirects included.
- `UrlTrapGuard`: refuses steps into endless URL spaces (`newscrawl.traps`).
- `PageBudget`: at most NEWSCRAWL_MAX_PAGES_PER_OUTLET fetches per crawl.
- `OutletTimeLimit`: no download outlasts the crawl's CLOSESPIDER_TIMEOUT.
- `AddressGuard`: refuses hosts that resolve to private, loopback, link-local and other
  internal addresses (NEWSCRAWL_FORBIDDEN_NETWORKS) unless NEWSCRAWL_ALLOWED_NETWORKS
  lets them in. The name is resolved without blocking the reactor and with Scrapy's own
  caching resolver, so the connection uses the answer that was checked; the peer address
  of the response is checked again after the fact.
- `RetryAfter`: 429 and 503 are retried after the server's Retry-After (or an
  exponential back-off), holding back every request to that download slot meanwhile.
- `BinaryBodyGuard`: refuses binary bodies (PDF, images, archives) labelled as text.
- `CharsetRepair`: decodes pages whose declared charset is wrong (`newscrawl.charset`).

Refusals raise `Refused` (an IgnoreRequest), counted as `newscrawl/refused/<kind>`.
`failure_kind` names every other failure for `newscrawl/errors/<kind>`.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from email.utils import parsedate_to_datetime
from functools import lru_cache

from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import TextResponse
from scrapy.utils.httpobj import urlparse_cached

from newscrawl import charset
from newscrawl.traps import TrapLimits, trap_kind

logger = logging.getLogger(__name__)

DEFAULT_FORBIDDEN_NETWORKS = (
    "0.0.0.0/8",  # "this network", unspecified
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16",  # RFC 1918
    "100.64.0.0/10",  # carrier-grade NAT
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (cloud metadata endpoints live here)
    "192.0.0.0/24", "198.18.0.0/15",  # IETF protocol assignments, benchmarking
    "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",  # multicast, reserved, broadcast
    "::/128", "::1/128",  # unspecified, loopback
    "fc00::/7",  # unique-local
    "fe80::/10",  # link-local
    "ff00::/8",  # multicast
    "64:ff9b::/96", "64:ff9b:1::/48",  # NAT64 prefixes can reach IPv4 internals
)


class Refused(IgnoreRequest):
    """A request the crawler will not make. `kind` is a stats key."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"refused ({kind}): {detail}" if detail else f"refused ({kind})")
        self.kind = kind


def refuse(crawler, kind: str, request, detail: str = "") -> Refused:
    count_refusal(crawler, kind, request.url, detail)
    return Refused(kind, detail)


# --- failures by kind -------------------------------------------------------------------

def failure_kind(exc: BaseException) -> tuple[str, str]:
    """("errors" | "refused", kind) for a request's failure: the stats family and a short
    stable name (timeout, connection-reset, truncated, too-large, decompression-bomb,
    redirect-loop, dns, http-503, ...)."""
    from scrapy import exceptions as sx
    from twisted.internet import error as tx
    from twisted.web.client import ResponseFailed, ResponseNeverReceived

    if isinstance(exc, Refused):
        return "refused", exc.kind
    response = getattr(exc, "response", None)
    if response is not None:
        return "errors", f"http-{response.status}"
    message = str(exc)
    if isinstance(exc, IgnoreRequest):
        cause = type(exc.__cause__).__name__ if exc.__cause__ else ""
        if "Decompression" in cause or "during decompression" in message:
            return "errors", "decompression-bomb"
        if "max redirections" in message:
            return "errors", "redirect-loop"
        if "offsite" in message.lower():
            return "refused", "offsite"
        if "robots.txt" in message:
            return "refused", "robots"
        return "errors", "ignored"
    kinds = (
        ((sx.DownloadTimeoutError, tx.TimeoutError), "timeout"),
        ((sx.CannotResolveHostError, tx.DNSLookupError), "dns"),
        ((sx.DownloadConnectionRefusedError, tx.ConnectionRefusedError), "connection-refused"),
        ((sx.ResponseDataLossError,), "truncated"),
        # The download handler cancels a body only when it outgrows DOWNLOAD_MAXSIZE
        # (announced or received); the received case carries no message.
        ((sx.DownloadCancelledError,), "too-large"),
    )
    for types, kind in kinds:
        if isinstance(exc, types):
            return "errors", kind
    if isinstance(exc, TimeoutError) or type(exc).__name__ == "TimeoutError":
        return "errors", "timeout"  # asyncio's, and a rendering browser's (Playwright's)
    if isinstance(exc, (ResponseNeverReceived, ResponseFailed, tx.ConnectionLost, tx.ConnectionDone,
                        sx.DownloadFailedError, ConnectionError)):
        reasons = " ".join(str(r) for r in getattr(exc, "reasons", []) or []) + message
        if "DataLoss" in reasons or "PotentialDataLoss" in reasons:
            return "errors", "truncated"
        return "errors", "connection-reset"
    return "errors", type(exc).__name__


# --- scope ------------------------------------------------------------------------------

class _Middleware:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)


class OutletScope(OffsiteMiddleware):
    """Scrapy's offsite middleware (in place of it: requests are checked when scheduled,
    redirects included, and counted as `offsite/filtered`) with the outlet's rule,
    `Outlet.owns`: Scrapy's own rule compares host names only, and outlets that share a
    host on different ports must be told apart
    (tests/test_guard.py::test_outlets_on_one_host_are_told_apart_by_port)."""

    def should_follow(self, request, spider) -> bool:
        outlet = getattr(spider, "outlet", None)
        return outlet is None or outlet.owns(request.url)


class UrlTrapGuard(_Middleware):
    def __init__(self, crawler):
        super().__init__(crawler)
        s = crawler.settings
        self.limits = TrapLimits(
            max_segments=s.getint("NEWSCRAWL_TRAP_MAX_SEGMENTS", 20),
            max_repeats=s.getint("NEWSCRAWL_TRAP_MAX_REPEATS", 3),
            max_page=s.getint("NEWSCRAWL_TRAP_MAX_PAGE", 200),
            min_year=s.getint("NEWSCRAWL_TRAP_MIN_YEAR", 1990),
        )

    def process_request(self, request):
        if kind := trap_kind(request.url, self.limits):
            raise refuse(self.crawler, f"trap-{kind}", request)
        return None


BUDGET_REASON = "page_budget"


class PageBudget(_Middleware):
    """Stops the crawl after NEWSCRAWL_MAX_PAGES_PER_OUTLET requests (robots.txt aside;
    0: no limit), with finish_reason "page_budget". What is already fetched is still
    processed and written. Scrapy's CLOSESPIDER_PAGECOUNT is no substitute: it counts
    responses, and a site whose pages fail never reaches it
    (tests/test_hostile.py::test_the_page_budget_counts_failed_fetches_and_scrapys_pagecount_does_not)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.budget = crawler.settings.getint("NEWSCRAWL_MAX_PAGES_PER_OUTLET", 0)
        self.used = 0
        if self.budget <= 0:
            raise NotConfigured

    def process_request(self, request):
        if urlparse_cached(request).path == "/robots.txt":
            return None
        if self.used >= self.budget:
            if self.crawler.stats.get_value("newscrawl/page-budget-reached") is None:
                self.crawler.stats.set_value("newscrawl/page-budget-reached", self.budget)
                logger.warning("page budget of %d fetches reached: closing the crawl", self.budget,
                               extra={"spider": self.crawler.spider})
                # As CLOSESPIDER_PAGECOUNT does: what is fetched is still processed and
                # written; what is scheduled is dropped instead of refused one by one.
                from scrapy.utils.defer import deferred_from_coro

                deferred_from_coro(self.crawler.engine.close_spider_async(reason=BUDGET_REASON))
            raise refuse(self.crawler, "page-budget", request)
        self.used += 1
        return None


class OutletTimeLimit(_Middleware):
    """CLOSESPIDER_TIMEOUT, Scrapy's own setting (the crawl closes that many seconds after
    it opened, finish_reason "closespider_timeout"), made a limit on the outlet's
    downloads too. Scrapy closes the spider then, but waits for every download in
    progress (each up to DOWNLOAD_TIMEOUT, with its retries): a site that accepts
    connections and never answers kept its outlet minutes past the limit, and a fleet
    crawl with it. Here a download is given at most the time left (its
    `download_timeout`), and none starts once the limit is reached (`NotFetched`: nothing
    marks it; the next run fetches it). Runs last, once the request is let into the
    downloader (pipelines.pool.DownloadBackpressure)."""

    def __init__(self, crawler):
        from scrapy import signals

        super().__init__(crawler)
        self.limit = crawler.settings.getfloat("CLOSESPIDER_TIMEOUT", 0)
        if self.limit <= 0:
            raise NotConfigured
        self.deadline: float | None = None
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    def spider_opened(self, spider) -> None:
        self.deadline = time.monotonic() + self.limit  # as Scrapy's CloseSpider counts it

    def process_request(self, request):
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            from newscrawl.stop import NotFetched

            self.crawler.stats.inc_value("newscrawl/time_limit/not_fetched")
            raise NotFetched(f"not fetched: the outlet's time limit (CLOSESPIDER_TIMEOUT) is reached ({request.url})")
        timeout = request.meta.get("download_timeout") or self.crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 180)
        if left < timeout:
            request.meta["download_timeout"] = left
        return None


# --- addresses --------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values) -> tuple[Network, ...]:
    if isinstance(values, str):
        values = [v for v in values.replace(",", " ").split() if v]
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values or ())


def address_is_forbidden(address: str, forbidden: tuple[Network, ...], allowed: tuple[Network, ...] = ()) -> bool:
    """True when the address lies in a forbidden network and in no allowed one. An
    IPv4-mapped or 6to4/Teredo-embedded IPv6 address is judged by its IPv4 address too."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    candidates = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        for embedded in (ip.ipv4_mapped, ip.sixtofour, ip.teredo and ip.teredo[1]):
            if embedded:
                candidates.append(embedded)
    if any(ip in net for net in allowed):
        return False
    return any(c in net for c in candidates for net in forbidden if c.version == net.version)


@lru_cache(maxsize=4096)
def _literal(host: str):
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


class AddressPolicy:
    """The addresses a crawl may not reach: NEWSCRAWL_FORBIDDEN_NETWORKS, less
    NEWSCRAWL_ALLOWED_NETWORKS; and a host's address, resolved without blocking the reactor
    and with Scrapy's own caching resolver, so that a connection made by that resolver's
    answer goes where the check said. AddressGuard applies it to the crawl's requests, the
    browser's proxy (newscrawl/render_proxy.py) to a rendered page's."""

    def __init__(self, settings):
        self.forbidden = parse_networks(settings.getlist("NEWSCRAWL_FORBIDDEN_NETWORKS", DEFAULT_FORBIDDEN_NETWORKS))
        self.allowed = parse_networks(settings.getlist("NEWSCRAWL_ALLOWED_NETWORKS", []))

    def is_forbidden(self, address: str) -> bool:
        try:
            return address_is_forbidden(str(address), self.forbidden, self.allowed)
        except ValueError:
            return True  # not an address we can judge: not one we connect to

    async def address_of(self, host: str) -> str | None:
        """The host's address (a literal one as it is), or None when it does not resolve."""
        literal = _literal(host)
        if literal is not None:
            return str(literal)
        from twisted.internet import reactor

        from scrapy.utils.defer import maybe_deferred_to_future

        try:
            return await maybe_deferred_to_future(reactor.resolve(host))
        except Exception:  # the connection itself fails and is counted as a DNS error
            return None


def count_refusal(crawler, kind: str, url: str, detail: str = "") -> None:
    """A refusal counted (`newscrawl/refused/<kind>`) and logged."""
    crawler.stats.inc_value(f"newscrawl/refused/{kind}")
    logger.info("refused (%s): %s %s", kind, url, detail, extra={"spider": crawler.spider})


class AddressGuard(_Middleware):
    """Refuses requests whose host is, or resolves to, a forbidden address, before any
    connection is made (`newscrawl/refused/private-address`)."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.policy = AddressPolicy(crawler.settings)
        if not self.policy.forbidden:
            raise NotConfigured

    async def process_request(self, request):
        address = await self.policy.address_of(urlparse_cached(request).hostname or "")
        if address is not None and self.policy.is_forbidden(address):
            raise refuse(self.crawler, "private-address", request, address)
        return None

    def process_response(self, request, response):
        # Belt and braces: the address actually connected to.
        peer = getattr(response, "ip_address", None)
        if peer is not None and self.policy.is_forbidden(str(peer)):
            raise refuse(self.crawler, "private-address", request, f"connected to {peer}")
        return response


# --- retries ----------------------------------------------------------------------------

def retry_after_seconds(value: str | bytes | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(min(int(value[:12]), 10**9))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class RetryAfter(_Middleware):
    """429 and 503 are retried (up to RETRY_TIMES) after Retry-After seconds, or after an
    exponential back-off (NEWSCRAWL_BACKOFF_BASE * 2**attempt) when the server gives none;
    meanwhile no request goes to that download slot. A wait longer than
    NEWSCRAWL_RETRY_AFTER_MAX gives up at once (`newscrawl/errors/retry-after-too-long`)."""

    STATUSES = frozenset({429, 503})

    def __init__(self, crawler):
        super().__init__(crawler)
        s = crawler.settings
        if not s.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.cap = s.getfloat("NEWSCRAWL_RETRY_AFTER_MAX", 600.0)
        self.base = s.getfloat("NEWSCRAWL_BACKOFF_BASE", 5.0)
        self.until: dict[str, float] = {}

    def _slot(self, request) -> str:
        return self.crawler.engine.downloader.get_slot_key(request)

    async def process_request(self, request):
        wait = self.until.get(self._slot(request), 0.0) - time.monotonic()
        if wait > 0:
            from twisted.internet import reactor, task

            from scrapy.utils.defer import maybe_deferred_to_future

            await maybe_deferred_to_future(task.deferLater(reactor, wait, lambda: None))
        return None

    def process_response(self, request, response):
        if response.status not in self.STATUSES or request.meta.get("dont_retry"):
            return response
        from scrapy.downloadermiddlewares.retry import get_retry_request

        stats = self.crawler.stats
        attempt = request.meta.get("retry_times", 0)
        delay = retry_after_seconds(response.headers.get("Retry-After"))
        if delay is None:
            delay = self.base * 2**attempt
        else:
            stats.inc_value("newscrawl/retry-after/honoured")
        if delay > self.cap:
            stats.inc_value("newscrawl/errors/retry-after-too-long")
            request.meta["dont_retry"] = True  # nor may Scrapy's retry try it at once
            return response
        retry = get_retry_request(request, spider=self.crawler.spider, reason=f"http-{response.status}")
        if retry is None:
            request.meta["dont_retry"] = True
            return response
        key = self._slot(request)
        self.until[key] = max(self.until.get(key, 0.0), time.monotonic() + delay)
        stats.inc_value("newscrawl/retry-after/wait-seconds", round(delay, 3))
        return retry


# --- bodies -----------------------------------------------------------------------------

BINARY_SIGNATURES = (
    b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM",
    b"II*\x00", b"MM\x00*", b"RIFF", b"PK\x03\x04", b"\x1a\x45\xdf\xa3", b"OggS", b"ID3",
    b"fLaC", b"\x7fELF", b"MZ", b"wOFF", b"wOF2", b"\x28\xb5\x2f\xfd", b"BZh", b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07", b"\x00\x00\x01\x00", b"\xd0\xcf\x11\xe0",
)
_TEXTUAL = ("text/", "application/xhtml", "application/xml", "application/rss", "application/atom",
            "application/rdf")
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27))
SNIFF = 1024


def looks_binary(body: bytes) -> bool:
    """A body no text format would have: a known binary signature, NUL bytes, or many
    control characters near the start (gzip is not judged: sitemaps come gzipped)."""
    head = body[:SNIFF]
    if not head or charset.read_bom(head)[0] or head.startswith(b"\x1f\x8b"):
        return False
    if head.startswith(BINARY_SIGNATURES) and not (head.startswith(b"BM") and head[2:3].isalpha()):
        # BM followed by letters is text that starts with "BM..." (an all-caps heading).
        return True
    if b"\x00" in head:
        return True
    controls = sum(head.count(bytes([c])) for c in _CONTROL)
    return controls > len(head) * 0.05


class BinaryBodyGuard(_Middleware):
    """Refuses responses labelled as text (or unlabelled) whose body is binary."""

    def process_response(self, request, response):
        ctype = (response.headers.get("Content-Type") or b"").decode("latin-1").lower().strip()
        textual = not ctype or ctype.startswith(_TEXTUAL)
        if textual and looks_binary(response.body):
            raise refuse(self.crawler, "binary-body", request, ctype)
        return response


class CharsetRepair(_Middleware):
    """Decodes pages whose charset declarations are wrong or whose UTF-8 is broken the
    way `newscrawl.charset` explains; counted as `newscrawl/charset/<reason>`."""

    def process_response(self, request, response):
        if not isinstance(response, TextResponse) or not response.body:
            return response
        ctype = (response.headers.get("Content-Type") or b"").decode("latin-1")
        encoding, reason = charset.page_encoding(ctype, response.body)
        if encoding is None:
            return response
        self.crawler.stats.inc_value(f"newscrawl/charset/{reason}")
        if reason == "invalid-utf8":
            return response.replace(body=charset.repair_utf8(response.body), encoding=encoding)
        return response.replace(encoding=encoding)
