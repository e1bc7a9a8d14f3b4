"""A hostile web for the tests: one fixture outlet on 127.0.0.1 whose sitemap lists a
page for every way a news site can fail, plus listeners on other loopback addresses
standing in for internal hosts (they only count connections, nothing is ever meant to
arrive).

Every big body is generated while it is sent, never held whole.
"""

from __future__ import annotations

import brotli
import json
import socket
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import zstandard

from newscrawl.outlets import Outlet
from newscrawl.webserver import Chunk, LocalSite, Page, Request

MB = 2**20
HTML = "text/html; charset=utf-8"

# Words for English article text. Every page's paragraphs differ, or the outlet's learned
# boilerplate would rightly remove text repeated on every page.
VOCABULARY = (
    "council budget transport repairs bus routes evening service residents hearing weekends bridges "
    "floods summer vote committee finance officials plan city river harbour school hospital market "
    "police report court judge minister election campaign farmers harvest prices rain storm road "
    "railway station airport tourists museum festival library teachers students workers union strike "
    "company factory energy water power grid housing rent families children doctors nurses"
).split()


def english_paragraphs(title: str, count: int = 5, words: int = 40) -> list[str]:
    import random

    rng = random.Random(title)
    return [" ".join(["The"] + [rng.choice(VOCABULARY) for _ in range(words)]) + "." for _ in range(count)]


CP1252 = [
    "The café on the corner of Zürich Street served crème brûlée to a naïve critic from Besançon.",
    "He called it “the best dessert in town” and wrote that the façade alone was worth the visit.",
    "The owner, Renée Müller, said the recipe came from her grandmother’s notebook of 1932.",
    "Prices stay at €4 for the dessert and €2 for an espresso, she added, whatever the critics say.",
    "Visitors from Malmö and São Paulo have already booked tables for the coming weekend.",
]
URDU = [
    "پاکستان کے شہر لاہور میں کل رات تیز بارش ہوئی اور کئی سڑکوں پر پانی جمع ہو گیا۔",
    "شہر کے لوگ صبح تک گھروں میں رہے اور دفتر جانے والے افراد کو مشکل کا سامنا کرنا پڑا۔",
    "محکمہ موسمیات کے مطابق آنے والے دنوں میں مزید بارش کا امکان ہے اور شہر کو تیار رہنا چاہئے۔",
    "انتظامیہ نے کہا کہ نکاسی آب کا کام جاری ہے اور جلد سڑکوں کو صاف کر دیا جائے گا۔",
    "شہر کے تاجروں نے بتایا کہ بارش کے سبب بازار بند رہے اور کاروبار متاثر ہوا۔",
]
# windows-1256 has no Farsi yeh (U+06CC) and no Urdu full stop (U+06D4): Urdu pages in it
# write the Arabic yeh (U+064A) and a full stop.
URDU = [p.replace("\u06cc", "\u064a").replace("\u06d4", ".") for p in URDU]
JAPANESE = [
    "東京では今朝から強い雨が降り続き、多くの電車が遅れました。都内の道路でも渋滞が起き、バスの運行にも影響が出ています。",
    "気象庁によると、雨は夕方まで続く見込みで、川の近くに住む人は注意が必要です。",
    "市役所は午後に会見を開き、避難所の準備ができていると発表しました。",
    "多くの会社は社員に自宅で働くよう呼びかけ、駅の混雑は少なくなりました。",
    "明日の天気は晴れの予報で、週末には気温が上がると見られています。",
    "専門家は、今年の梅雨は例年より長く続く可能性があると話しています。農家の人たちは収穫への影響を心配しています。",
    "学校の多くは午前中の授業を取りやめ、子どもたちは家で過ごしました。保護者からは早めの連絡を求める声が上がりました。",
    "鉄道会社は夜までに全ての路線で運転を再開すると発表しましたが、一部の駅では混雑が続く見込みです。",
]
BAD_UTF8_BODY = [
    "The harbour authority said on Monday that the new quay would open in \x93early spring\x94 next year.",
    "Engineers finished the last section of the sea wall after six months of work in hard weather.",
    "Ship owners had asked for the quay for years, saying the old one was too small for modern vessels.",
    "The project cost less than planned, according to the authority\x92s annual report.",
    "Local fishermen will keep their moorings on the north side of the harbour, the authority added.",
]


def article_html(title: str, paragraphs: list[str], *, lang: str = "en", meta_charset: str | None = "utf-8",
                 dir_: str = "ltr") -> str:
    meta = f'<meta charset="{meta_charset}">' if meta_charset else ""
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
                     "datePublished": "2026-01-02T10:00:00+00:00"}, ensure_ascii=False)
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (f'<!doctype html><html lang="{lang}" dir="{dir_}"><head>{meta}<title>{title}</title>'
            f'<script type="application/ld+json">{ld}</script></head><body><header><a href="/">Home</a></header>'
            f"<article><h1>{title}</h1>{body}</article><footer>Fixture Times</footer></body></html>")


def english_html(title: str) -> bytes:
    return article_html(title, english_paragraphs(title)).encode("utf-8")


def english_page(title: str) -> Page:
    return Page(english_html(title))


# --- bodies generated while sent ------------------------------------------------------

def zeros(total: int, chunk: int = MB) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        yield b"\0" * n
        sent += n


def html_filler(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """An HTML page of `total` bytes: a head, then paragraphs until the size is reached."""
    yield b"<!doctype html><html><head><title>Endless</title></head><body>"
    para = b"<p>" + b"All work and no play makes a very long page. " * 20 + b"</p>\n"
    block = para * (chunk // len(para) + 1)
    sent = 0
    while sent < total:
        yield block
        sent += len(block)


def compressed(encoding: str, raw: Iterator[bytes]) -> Iterator[bytes]:
    """`raw` compressed as `encoding` (gzip, deflate, br, zstd), a piece at a time."""
    if encoding in ("gzip", "deflate"):
        comp = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
        compress, flush = comp.compress, comp.flush
    elif encoding == "br":
        comp = brotli.Compressor(quality=5)
        compress, flush = comp.process, comp.finish
    else:
        comp = zstandard.ZstdCompressor(level=3).compressobj()
        compress, flush = comp.compress, comp.flush
    for piece in raw:
        out = compress(piece)
        if out:
            yield out
    yield flush()


def bomb(encoding: str, size: int = 64 * MB) -> bytes:
    """A small body that inflates to `size` bytes of zeros."""
    return b"".join(compressed(encoding, zeros(size)))


PDF = (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
       + bytes(range(256)) * 8 + b"\n%%EOF\n")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8


# --- listeners that only count ---------------------------------------------------------

class CountingListener:
    """A TCP listener on a loopback address other than 127.0.0.1 that accepts and counts
    connections and closes them: proof that nothing was sent its way."""

    def __init__(self, host: str):
        if not host.startswith("127."):
            raise ValueError("loopback addresses only")
        self.host = host
        self.connections = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self._sock.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def __enter__(self) -> "CountingListener":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


# --- the hostile outlet ----------------------------------------------------------------

def once_then(first: Page, then: Page):
    """A handler answering `first` to the first request and `then` to every later one."""
    seen = []

    def handler(request: Request) -> Page:
        seen.append(request.path)
        return first if len(seen) == 1 else then
    return handler


def redirect(location: str, status: int = 302) -> Page:
    return Page(b"", status=status, headers={"Location": location})


def urlset(urls: list[str]) -> bytes:
    entries = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?>'
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>').encode()


class AddressListener:
    """A TCP listener on `host` (127.0.0.2 or 127.0.0.3: the stand-ins for addresses a
    crawl may not reach) that counts the connections reaching it."""

    def __init__(self, host: str):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def sitemap_outlet(site: LocalSite, paths, name: str, display_name: str, homepage: bytes) -> Outlet:
    """The outlet of `site` whose robots.txt names a sitemap of `paths` (served already),
    and whose homepage is `homepage`."""
    site.routes["/robots.txt"] = Page(f"User-agent: *\nAllow: /\nSitemap: {site.url_for('/sitemap.xml')}\n"
                                      .encode(), "text/plain")
    site.routes["/"] = Page(homepage)
    site.routes["/sitemap.xml"] = Page(urlset([site.url_for(p) for p in paths]), "application/xml")
    return Outlet(name=name, display_name=display_name, domains=(site.host_port,), homepage=site.url_for("/"),
                  timezone="UTC")


@dataclass
class HostileSite:
    site: LocalSite
    private: CountingListener  # inside the outlet's domains, but an internal address
    elsewhere: CountingListener  # outside the outlet's domains
    offsite: LocalSite  # another site on 127.0.0.1, another port: not the outlet's
    outlet: Outlet = None
    articles: dict[str, str] = field(default_factory=dict)  # path -> what it is

    def url(self, path: str) -> str:
        return self.site.url_for(path)


def build_hostile_site(h: HostileSite) -> None:
    """Fills h.site.routes; h.articles names every fault page listed in the sitemap."""
    routes, url = h.site.routes, h.url
    ok = english_page
    drip_ok = english_html("Slow but complete")
    faults: dict[str, object] = {
        "/news/ok": ok("A quiet day at the council"),
        "/news/500": Page(b"<h1>Internal Server Error</h1>", status=500),
        "/news/503-retry-after": once_then(Page(b"busy", status=503, headers={"Retry-After": "1"}),
                                           ok("Back after a short break")),
        "/news/429-backoff": once_then(Page(b"slow down", status=429), ok("Rate limits and patience")),
        "/news/429-too-long": Page(b"come back tomorrow", status=429, headers={"Retry-After": "86400"}),
        "/news/403-block": Page(b"<html><body><h1>Access denied</h1><p>Your request was blocked by our "
                                b"security service. Reference #18.2f3</p></body></html>", status=403),
        "/news/timeout": Page(ok("Never sent in time"), delay=30),
        # 40 chunks, half a second apart: longer than the download timeout.
        "/news/drip-too-slow": lambda r: Page(Chunk(b"<p>" + b"drip " * 50 + b"</p>", 0.5) for _ in range(40)),
        "/news/drip-in-time": lambda r: Page(Chunk(drip_ok[i:i + 1000], 0.05) for i in range(0, len(drip_ok), 1000)),
        "/news/reset": Page(reset=True),
        "/news/truncated": Page(ok("Cut short in the middle of a sentence"), close_after=300),
        "/news/loop-a": redirect("/news/loop-b"),
        "/news/redirect-offsite": redirect(h.offsite.url_for("/stolen")),
        "/news/redirect-private": redirect(h.private.url + "/admin"),
        "/news/redirect-elsewhere": redirect(h.elsewhere.url + "/metadata"),
        "/news/pdf-as-html": Page(PDF, "text/html; charset=utf-8"),
        "/news/png-as-html": Page(PNG, "text/html"),
        "/news/huge-declared": Page(b"", headers={"Content-Length": str(20 * MB)}),
        "/news/huge-streamed": lambda r: Page(html_filler(12 * MB)),  # no Content-Length
        "/news/cp1252-undeclared": Page(article_html("Café society", CP1252, meta_charset=None).encode("cp1252"),
                                        "text/html"),
        "/news/urdu-1256-wrong-header": Page(
            article_html("لاہور ميں بارش", URDU, lang="ur", meta_charset="windows-1256", dir_="rtl")
            .encode("cp1256"), "text/html; charset=utf-8"),
        "/news/urdu-1256-latin-header": Page(
            article_html("شہر ميں بارش", URDU[::-1], lang="ur", meta_charset="windows-1256", dir_="rtl")
            .encode("cp1256"), "text/html; charset=ISO-8859-1"),
        "/news/sjis-meta-only": Page(article_html("東京の雨", JAPANESE, lang="ja", meta_charset="Shift_JIS")
                                     .encode("shift_jis"), "text/html"),
        "/news/invalid-utf8": Page(article_html("A new quay", [p for p in BAD_UTF8_BODY])
                                   .encode("utf-8").replace(b"\xc2\x93", b"\x93").replace(b"\xc2\x94", b"\x94")
                                   .replace(b"\xc2\x92", b"\x92") + b"\xff\xfe\x81", HTML),
        "/news/tracked": ok("One story, many links"),
    }
    routes["/news/loop-b"] = redirect("/news/loop-a")
    for encoding in ("gzip", "deflate", "br", "zstd"):
        body = bomb(encoding)
        faults[f"/news/bomb-{encoding}"] = Page(body, HTML, headers={"Content-Encoding": encoding})
    routes.update(faults)
    h.articles.update({path: path.rsplit("/", 1)[1] for path in faults})

    listed = [url(p) for p in faults if p != "/news/tracked"]
    tracked = [url("/news/tracked?utm_source=twitter&utm_medium=social"),
               url("/news/tracked?fbclid=IwAR0abc&utm_campaign=x"),
               url("/news/tracked?gclid=123"), url("/news/tracked")]
    routes["/robots.txt"] = Page(
        ("User-agent: *\nAllow: /\n" + "".join(f"Sitemap: {url(p)}\n" for p in (
            "/sitemap.xml", "/sitemap-empty.xml", "/sitemap-malformed.xml", "/sitemap-xxe.xml",
            "/sitemap-laughs.xml", "/sitemap-bomb.xml.gz", "/sitemap-binary.xml"))).encode(),
        "text/plain")
    routes["/"] = Page(b"<!doctype html><html><head><title>Fixture Times</title>"
                       b'<link rel="alternate" type="application/rss+xml" href="/feed-malformed.xml">'
                       b'<link rel="alternate" type="application/rss+xml" href="/feed-empty.xml">'
                       b'<link rel="alternate" type="application/rss+xml" href="/feed-xxe.xml">'
                       b'<link rel="alternate" type="application/rss+xml" href="/feed-laughs.xml">'
                       b"</head><body><p>Home</p></body></html>")
    routes["/sitemap.xml"] = Page(urlset(listed + tracked[:2]), "application/xml")
    routes["/sitemap-empty.xml"] = Page(b"", "application/xml")
    malformed = urlset([url("/news/from-malformed")])
    routes["/sitemap-malformed.xml"] = Page(malformed[: malformed.index(b"</url>") + 6] + b"<url><loc>http", "application/xml")
    routes["/news/from-malformed"] = ok("Found in a broken sitemap")
    h.articles["/news/from-malformed"] = "from-malformed"
    routes["/sitemap-xxe.xml"] = Page(
        ('<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY leak SYSTEM "file:///etc/passwd">'
         f'<!ENTITY probe SYSTEM "{url("/xxe-probe")}">]>'
         '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
         f'<url><loc>{url("/news/xxe-")}&leak;&probe;</loc></url>'
         f'<url><loc>{url("/news/from-xxe")}</loc></url></urlset>').encode(), "application/xml")
    routes["/news/from-xxe"] = ok("Found beside an entity attack")
    h.articles["/news/from-xxe"] = "from-xxe"
    laughs = ('<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10)))
    routes["/sitemap-laughs.xml"] = Page(
        (f'<?xml version="1.0"?><!DOCTYPE urlset [{laughs}]><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
         f'<url><loc>{url("/news/")}&lol9;</loc></url>'
         f'<url><loc>{url("/news/from-laughs")}</loc></url></urlset>').encode(), "application/xml")
    routes["/news/from-laughs"] = ok("Found beside a billion laughs")
    h.articles["/news/from-laughs"] = "from-laughs"
    routes["/sitemap-bomb.xml.gz"] = lambda r: Page(compressed("gzip", zeros(80 * MB)), "application/x-gzip")
    routes["/sitemap-binary.xml"] = Page(PNG, "application/xml")
    routes["/feed-malformed.xml"] = Page(
        ('<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
         f'<item><title>From a broken feed</title><link>{url("/news/from-feed")}</link></item><item><title>cut'
         ).encode(), "application/rss+xml")
    routes["/news/from-feed"] = ok("Found in a broken feed")
    h.articles["/news/from-feed"] = "from-feed"
    routes["/feed-empty.xml"] = Page(b"   \n", "application/rss+xml")
    routes["/feed-xxe.xml"] = Page(
        ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY leak SYSTEM "file:///etc/hostname">'
         f'<!ENTITY probe SYSTEM "{url("/xxe-probe-feed")}">]><rss version="2.0"><channel><title>&leak;</title>'
         f'<item><title>&leak;&probe;</title><link>{tracked[2]}</link></item></channel></rss>').encode(),
        "application/rss+xml")
    routes["/feed-laughs.xml"] = Page(
        (f'<?xml version="1.0"?><!DOCTYPE rss [{laughs}]><rss version="2.0"><channel><title>&lol9;</title>'
         f'<item><title>&lol9;</title><link>{tracked[3]}</link></item></channel></rss>').encode(),
        "application/rss+xml")
    h.offsite.routes["/stolen"] = ok("Not the outlet's page")
    h.outlet = Outlet(
        name="hostile-times", display_name="Hostile Times",
        domains=(h.site.host_port, f"{h.private.host}:{h.private.url.rsplit(':', 1)[1]}"),
        homepage=h.url("/"), languages=("en",), timezone="UTC", section_depth=1,
    )
