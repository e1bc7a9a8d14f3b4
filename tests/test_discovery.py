import gzip
import io
import zlib

import lxml.html
from lxml import etree
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newscrawl.discovery import (
    VIA_FEED,
    DiscoveryError,
    feed_links,
    page_links,
    parse_feed,
    parse_sitemap,
    robots_sitemaps,
    sniff,
)
from newscrawl.middlewares import RobotsTxt

SM = "http://www.sitemaps.org/schemas/sitemap/0.9"

URLSET = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="{SM}" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"
        xmlns:video="http://www.google.com/schemas/sitemap-video/1.1">
  <url>
    <loc>https://news.example/2024/05/01/budget-vote</loc>
    <lastmod>2024-05-01T10:00:00+00:00</lastmod>
    <image:image><image:loc>https://cdn.example/img/1.jpg</image:loc></image:image>
  </url>
  <url>
    <video:video><video:content_loc>https://cdn.example/v.mp4</video:content_loc></video:video>
    <loc> https://news.example/2024/05/01/floods?id=7&amp;p=2 </loc>
  </url>
  <url><loc>/relative/path</loc></url>
  <url><loc>ftp://news.example/file</loc></url>
  <url><lastmod>2024-01-01</lastmod></url>
</urlset>
""".encode()

NEWS = f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="{SM}" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://news.example/world/quake</loc>
    <news:news>
      <news:publication><news:name>Example News</news:name><news:language>en</news:language></news:publication>
      <news:publication_date>2024-05-02T08:15:00+02:00</news:publication_date>
      <news:title>Quake   hits &amp; shakes</news:title>
    </news:news>
    <image:image><image:loc>https://cdn.example/q.jpg</image:loc><image:title>Not the headline</image:title></image:image>
  </url>
</urlset>
""".encode()

INDEX = f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="{SM}">
  <sitemap><loc>https://news.example/sitemap-2024-05.xml.gz</loc><lastmod>2024-05-02</lastmod></sitemap>
  <sitemap><loc>https://news.example/sitemap-news.xml</loc></sitemap>
  <sitemap><loc>sitemap-relative.xml</loc></sitemap>
</sitemapindex>
""".encode()


# --- robots.txt ---------------------------------------------------------------


def sitemaps_from_robots(text: str, robots_url: str) -> list[str]:
    """The sitemaps a crawl follows from a robots.txt: the Sitemap lines the parser Scrapy's
    robots middleware builds (settings.ROBOTSTXT_PARSER) reads, made absolute."""
    return robots_sitemaps(RobotsTxt(text.encode(), None).sitemaps, robots_url)


def test_sitemaps_from_robots_case_relative_dedupe_order():
    robots = (
        "User-agent: *\nDisallow: /search\n"
        "Sitemap: https://news.example/sitemap_index.xml\n"
        "sitemap:/news-sitemap.xml\n"
        "  SITEMAP :  https://news.example/sitemap_index.xml  \n"
        "# Sitemap: https://news.example/commented.xml\n"
        "Sitemap: mailto:x@example.com\n"
    )
    assert sitemaps_from_robots(robots, "https://news.example/robots.txt") == [
        "https://news.example/sitemap_index.xml",
        "https://news.example/news-sitemap.xml",
    ]


def test_sitemaps_from_robots_none():
    assert sitemaps_from_robots("User-agent: *\nDisallow:\n", "https://x.example/robots.txt") == []
    assert sitemaps_from_robots("", "https://x.example/robots.txt") == []


# --- sitemaps -------------------------------------------------------------------


def test_urlset_locs_lastmod_and_skips():
    sm = parse_sitemap(URLSET, "https://news.example/sitemap.xml")
    assert sm.kind == "urlset"
    assert [e.loc for e in sm.entries] == [
        "https://news.example/2024/05/01/budget-vote",
        "https://news.example/2024/05/01/floods?id=7&p=2",
    ]
    assert sm.entries[0].lastmod == "2024-05-01T10:00:00+00:00"
    assert sm.entries[1].lastmod is None
    assert sm.skipped == 3  # relative, ftp, missing loc
    assert not sm.is_news
    assert not sm.recovered


def test_gzip_detected_by_magic_not_name():
    sm = parse_sitemap(gzip.compress(URLSET), "https://news.example/sitemap.xml")
    assert len(sm.entries) == 2
    # And a .gz name on a body the server already inflated is read as plain XML.
    assert len(parse_sitemap(URLSET, "https://news.example/sitemap.xml.gz").entries) == 2


def test_multi_member_gzip():
    body = gzip.compress(URLSET[:200]) + gzip.compress(URLSET[200:])
    assert len(parse_sitemap(body, "https://x.example/s.xml.gz").entries) == 2


def test_news_sitemap_fields():
    sm = parse_sitemap(NEWS, "https://news.example/news.xml")
    assert sm.is_news
    (entry,) = sm.entries
    assert entry.loc == "https://news.example/world/quake"
    assert entry.news_title == "Quake hits & shakes"
    assert entry.news_published == "2024-05-02T08:15:00+02:00"
    assert entry.news_language == "en"


def test_sitemap_index():
    sm = parse_sitemap(INDEX, "https://news.example/sitemap_index.xml")
    assert sm.kind == "index"
    assert [e.loc for e in sm.entries] == [
        "https://news.example/sitemap-2024-05.xml.gz",
        "https://news.example/sitemap-news.xml",
    ]
    assert sm.entries[0].lastmod == "2024-05-02"
    assert sm.skipped == 1


def test_unnamespaced_and_leading_blank_lines():
    body = b"\n\n  <?xml version='1.0'?><urlset><url><loc>https://a.example/x</loc></url></urlset>"
    assert [e.loc for e in parse_sitemap(body, "https://a.example/s").entries] == ["https://a.example/x"]


def test_text_sitemap():
    body = b"https://a.example/one\n\nhttps://a.example/two\r\nnot a url\n"
    sm = parse_sitemap(body, "https://a.example/sitemap.txt")
    assert [e.loc for e in sm.entries] == ["https://a.example/one", "https://a.example/two"]
    assert sm.skipped == 1


def test_truncated_sitemap_recovers_what_was_read():
    body = URLSET[: URLSET.index(b"<url><loc>/relative")]
    sm = parse_sitemap(body, "https://news.example/sitemap.xml")
    assert sm.recovered
    assert len(sm.entries) == 2


def test_truncated_gzip_recovers_what_inflated():
    full = gzip.compress(URLSET * 1)
    sm = parse_sitemap(full[: len(full) - 12], "https://news.example/sitemap.xml.gz")
    assert sm.entries and sm.entries[0].loc == "https://news.example/2024/05/01/budget-vote"


@pytest.mark.parametrize(
    "body, kind",
    [
        (b"", "empty"),
        (b"   \n\t", "empty"),
        (gzip.compress(b""), "empty"),
        (b"<<<>>> this is not xml at all &&&", "malformed-xml"),
        (b"\x00\x01\x02\x03", "malformed-xml"),
        (b"<html><body><p>Hello</p></body></html>", "not-a-sitemap"),
        (b'<rss version="2.0"><channel><title>t</title></channel></rss>', "not-a-sitemap"),
        (b"\x1f\x8b\x08\x00garbage-not-deflate", "bad-gzip"),
    ],
)
def test_bad_sitemaps_raise_discovery_error(body, kind):
    with pytest.raises(DiscoveryError) as exc:
        parse_sitemap(body, "https://x.example/sitemap.xml")
    assert exc.value.kind == kind


def test_gzip_bomb_raises_too_large_without_inflating_it_all():
    # 64 MiB of zeros compress to ~64 KiB; the cap is 1 MiB.
    inflater_input = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = inflater_input.compress(b"\0" * (64 * 2**20)) + inflater_input.flush()
    assert len(bomb) < 2**20
    with pytest.raises(DiscoveryError) as exc:
        parse_sitemap(bomb, "https://x.example/s.xml.gz", max_size=2**20)
    assert exc.value.kind == "too-large"


def test_plain_body_over_cap_is_too_large():
    with pytest.raises(DiscoveryError) as exc:
        parse_sitemap(URLSET, "https://x.example/s.xml", max_size=100)
    assert exc.value.kind == "too-large"


def _xxe(tmp_path, root_xml: str) -> bytes:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>\n' + root_xml
    ).encode()
    # The attack is real: a parser that resolves entities reads the file.
    naive = etree.XMLParser(resolve_entities=True, load_dtd=True)
    assert b"TOP-SECRET-CONTENT" in etree.tostring(etree.fromstring(body, naive))
    return body


def test_sitemap_xxe_is_refused_whole(tmp_path):
    body = _xxe(tmp_path, f'<urlset xmlns="{SM}"><url><loc>https://a.example/&xxe;</loc>'
                          f"<lastmod>&xxe;</lastmod></url></urlset>")
    with pytest.raises(DiscoveryError) as exc:
        parse_sitemap(body, "https://a.example/s.xml")
    assert exc.value.kind == "entities"
    assert "TOP-SECRET" not in str(exc.value)


def test_feed_xxe_is_refused_whole(tmp_path):
    body = _xxe(
        tmp_path,
        "<rss version='2.0'><channel><title>&xxe;</title>"
        "<item><title>&xxe;</title><link>https://a.example/story</link></item></channel></rss>",
    )
    with pytest.raises(DiscoveryError) as exc:
        parse_feed(body, "https://a.example/feed")
    assert exc.value.kind == "entities"
    assert "TOP-SECRET" not in str(exc.value)


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
)


def test_billion_laughs_sitemap_is_refused_whole():
    body = (BILLION_LAUGHS + f'<urlset xmlns="{SM}"><url><loc>https://a.example/&lol9;</loc></url>'
            "<url><loc>https://a.example/ok</loc></url></urlset>").encode()
    with pytest.raises(DiscoveryError) as exc:
        parse_sitemap(body, "https://a.example/s.xml")
    assert exc.value.kind == "entities"


def test_billion_laughs_feed_is_refused_whole():
    body = (BILLION_LAUGHS + "<rss><channel><title>&lol9;</title><item><title>&lol9;</title>"
            "<link>https://a.example/x</link></item></channel></rss>").encode()
    with pytest.raises(DiscoveryError) as exc:
        parse_feed(body, "https://a.example/feed")
    assert exc.value.kind == "entities"


# --- feeds ----------------------------------------------------------------------

RSS2 = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example News - Top Stories</title>
  <link>https://news.example/</link>
  <atom:link href="https://news.example/rss" rel="self" type="application/rss+xml"/>
  <item>
    <title>Budget passes &amp; markets rally</title>
    <link>https://news.example/2024/05/01/budget?utm_source=rss</link>
    <pubDate>Wed, 01 May 2024 10:00:00 GMT</pubDate>
  </item>
  <item>
    <title><![CDATA[Floods <b>displace</b> thousands]]></title>
    <guid isPermaLink="true">https://news.example/2024/05/01/floods</guid>
    <dc:date>2024-05-01T11:00:00Z</dc:date>
  </item>
  <item>
    <title>Guid is not a permalink</title>
    <guid isPermaLink="false">tag:news.example,2024:123</guid>
  </item>
  <item><title>Relative link</title><link>/2024/05/01/relative</link></item>
</channel>
</rss>"""

RDF = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://blog.example/">
    <title>Blog Example</title>
    <link>https://blog.example/</link>
    <items><rdf:Seq><rdf:li rdf:resource="https://blog.example/a"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://blog.example/a">
    <title>First post</title>
    <link>https://blog.example/a</link>
    <dc:date>2024-04-30T09:00:00+01:00</dc:date>
  </item>
  <item rdf:about="https://blog.example/b"><title>No link element</title></item>
</rdf:RDF>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.example/news/">
  <title type="text">Atom Example</title>
  <link rel="self" href="https://atom.example/feed.atom"/>
  <entry>
    <title>Entry one</title>
    <link rel="enclosure" href="https://cdn.atom.example/a.mp3"/>
    <link rel="alternate" type="application/pdf" href="one.pdf"/>
    <link rel="alternate" type="text/html" href="one.html"/>
    <published>2024-05-01T10:00:00Z</published>
    <updated>2024-05-01T12:00:00Z</updated>
  </entry>
  <entry>
    <title>Entry two</title>
    <link href="https://atom.example/two"/>
    <updated>2024-05-02T10:00:00Z</updated>
  </entry>
  <entry><title>No link</title></entry>
</feed>"""


def test_rss2():
    feed = parse_feed(RSS2, "https://news.example/rss")
    assert feed.kind == "rss" and VIA_FEED[feed.kind] == "feed-rss"
    assert [(e.link, e.title, e.published) for e in feed.entries] == [
        ("https://news.example/2024/05/01/budget?utm_source=rss", "Budget passes & markets rally",
         "Wed, 01 May 2024 10:00:00 GMT"),
        ("https://news.example/2024/05/01/floods", "Floods <b>displace</b> thousands",
         "2024-05-01T11:00:00Z"),
        ("https://news.example/2024/05/01/relative", "Relative link", None),
    ]
    assert feed.skipped == 1


def test_rdf():
    feed = parse_feed(RDF, "https://blog.example/index.rdf")
    assert feed.kind == "rdf"
    assert [(e.link, e.title, e.published) for e in feed.entries] == [
        ("https://blog.example/a", "First post", "2024-04-30T09:00:00+01:00"),
        ("https://blog.example/b", "No link element", None),  # rdf:about is the link
    ]


def test_atom():
    feed = parse_feed(ATOM, "https://atom.example/feed.atom")
    assert feed.kind == "atom"
    assert [(e.link, e.published) for e in feed.entries] == [
        ("https://atom.example/news/one.html", "2024-05-01T10:00:00Z"),
        ("https://atom.example/two", "2024-05-02T10:00:00Z"),
    ]
    assert feed.skipped == 1


def test_unreadable_links_are_skipped_not_fatal():
    body = (b"<rss><channel><item><link>http://[unclosed/x</link></item>"
            b"<item><link>/fine</link></item></channel></rss>")
    feed = parse_feed(body, "https://a.example/rss")
    assert [e.link for e in feed.entries] == ["https://a.example/fine"]
    assert feed.skipped == 1
    robots = "Sitemap: http://[bad\nSitemap: /ok.xml\n"
    assert sitemaps_from_robots(robots, "https://a.example/robots.txt") == ["https://a.example/ok.xml"]


def test_gzipped_feed_and_undeclared_html_entity_recovered():
    body = RSS2.replace(b"Budget passes", b"Budget&nbsp;passes")
    feed = parse_feed(gzip.compress(body), "https://news.example/rss")
    assert feed.recovered
    assert len(feed.entries) == 3


@pytest.mark.parametrize(
    "body, kind",
    [
        (b"", "empty"),
        (b"<<< not xml", "malformed-xml"),
        (URLSET, "not-a-feed"),
        (b"<rss version='2.0'></rss>", "not-a-feed"),
    ],
)
def test_bad_feeds_raise(body, kind):
    with pytest.raises(DiscoveryError) as exc:
        parse_feed(body, "https://x.example/feed")
    assert exc.value.kind == kind


# --- sniffing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, ctype, expected",
    [
        (URLSET, "application/xml", "sitemap"),
        (gzip.compress(URLSET), "application/octet-stream", "sitemap"),
        (INDEX, None, "sitemap-index"),
        (gzip.compress(INDEX), "application/x-gzip", "sitemap-index"),
        (RSS2, "text/xml", "feed"),
        (ATOM, "application/atom+xml", "feed"),
        (RDF, None, "feed"),
        (b"\xef\xbb\xbf<!-- generated --><!DOCTYPE x><rss>", None, "feed"),
        (b"<!DOCTYPE html><html><head></head></html>", "text/html", "html"),
        (b"\n<html lang='en'><body>x</body></html>", None, "html"),
        (b"<div>fragment</div>", "text/html; charset=utf-8", "html"),
        (b"https://a.example/1\nhttps://a.example/2\n", "text/plain", "sitemap"),
        (b"%PDF-1.4 binary", "application/pdf", "other"),
        (b"", None, "other"),
    ],
)
def test_sniff(body, ctype, expected):
    assert sniff(body, ctype) == expected


# --- links in HTML ----------------------------------------------------------------

HTML = """<html><head>
<link rel="alternate" type="application/rss+xml" href="/rss.xml">
<link rel="alternate" type="application/atom+xml" href="https://news.example/atom">
<link rel="Alternate" type="application/rdf+xml; charset=utf-8" href="index.rdf">
<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" href="/rss.xml">
</head><body>
<a href="/2024/05/01/budget">Budget</a>
<a href="https://news.example/2024/05/01/budget#comments">Comments</a>
<a href="  /2024/05/01/floods
">Floods</a>
<a rel="nofollow" href="https://other.example/x">Elsewhere</a>
<a href="javascript:void(0)">JS</a><a href="mailto:desk@news.example">Mail</a>
<a href="tel:+100">Call</a><a href="#top">Top</a><a>no href</a><a href="">empty</a>
<a href="ftp://files.example/x">FTP</a>
<a href="relative/page">Rel</a>
</body></html>"""


def test_feed_links():
    root = lxml.html.fromstring(HTML)
    assert feed_links(root, "https://news.example/section/") == [
        "https://news.example/rss.xml",
        "https://news.example/atom",
        "https://news.example/section/index.rdf",
    ]


def test_page_links():
    root = lxml.html.fromstring(HTML)
    assert page_links(root, "https://news.example/section/") == [
        "https://news.example/2024/05/01/budget",
        "https://news.example/2024/05/01/floods",
        "https://other.example/x",
        "https://news.example/section/relative/page",
    ]


def test_page_links_honours_base_href():
    root = lxml.html.fromstring(
        '<html><head><base href="https://cdn.example/mirror/"></head>'
        '<body><a href="story">s</a></body></html>'
    )
    assert page_links(root, "https://news.example/") == ["https://cdn.example/mirror/story"]


# --- properties: nothing but DiscoveryError escapes -----------------------------

XML_TOKENS = st.sampled_from(
    [
        "<urlset>", "</urlset>", f'<urlset xmlns="{SM}">', "<sitemapindex>", "</sitemapindex>",
        "<url>", "</url>", "<sitemap>", "</sitemap>", "<loc>", "</loc>", "<lastmod>", "</lastmod>",
        "https://a.example/x", "/rel", "http://[", "<link>http://[x</link>", '<link href="http://[y"/>', "&amp;", "&bogus;", "&#0;", "&#x110000;", "<![CDATA[",
        "]]>", "<!--", "-->", "<?xml version='1.0'?>", "<!DOCTYPE x [<!ENTITY e 'v'>]>", "&e;",
        '<news:news xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">', "</news:news>",
        "<news:title>", "</news:title>", "<rss>", "</rss>", "<channel>", "</channel>", "<item>",
        "</item>", "<link>", "</link>", '<feed xmlns="http://www.w3.org/2005/Atom">', "</feed>",
        "<entry>", "</entry>", '<link href="x"/>', "<title>", "</title>", "\x00", "\xff", " ",
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">', "</rdf:RDF>",
    ]
)
SEEDS = [URLSET, NEWS, INDEX, RSS2, RDF, ATOM]


@st.composite
def xml_bodies(draw):
    choice = draw(st.integers(0, 2))
    if choice == 0:
        body = "".join(draw(st.lists(XML_TOKENS, max_size=40))).encode("utf-8", "surrogatepass")
    elif choice == 1:
        seed = bytearray(draw(st.sampled_from(SEEDS)))
        for _ in range(draw(st.integers(1, 8))):
            pos = draw(st.integers(0, len(seed)))
            op = draw(st.integers(0, 2))
            if op == 0:
                del seed[pos : pos + draw(st.integers(1, 50))]
            elif op == 1:
                seed[pos:pos] = draw(st.binary(max_size=20))
            else:
                seed = seed[:pos]
        body = bytes(seed)
    else:
        body = draw(st.binary(max_size=300))
    if draw(st.booleans()):
        buf = io.BytesIO()
        with gzip.GzipFile(fileobj=buf, mode="wb") as gz:
            gz.write(body)
        body = buf.getvalue()
        if draw(st.booleans()):
            body = body[: draw(st.integers(0, len(body)))]
    return body


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xml_bodies())
def test_parse_sitemap_only_raises_discovery_error(body):
    try:
        sm = parse_sitemap(body, "https://a.example/sitemap.xml")
    except DiscoveryError as exc:
        assert exc.kind
        return
    assert sm.kind in ("index", "urlset")
    for entry in sm.entries:
        assert entry.loc.startswith(("http://", "https://"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(xml_bodies())
def test_parse_feed_only_raises_discovery_error(body):
    try:
        feed = parse_feed(body, "https://a.example/feed")
    except DiscoveryError as exc:
        assert exc.kind
        return
    assert feed.kind in ("rss", "atom", "rdf")
    for entry in feed.entries:
        assert entry.link.startswith(("http://", "https://"))


@settings(max_examples=200, deadline=None)
@given(xml_bodies(), st.sampled_from([None, "text/html", "text/plain", "application/xml"]))
def test_sniff_total(body, ctype):
    assert sniff(body, ctype) in ("sitemap", "sitemap-index", "feed", "html", "other")


def test_recent_entries_are_fetched_first():
    from datetime import datetime, timedelta, timezone

    from newscrawl.spiders.news import recency_priority

    now = datetime.now(timezone.utc)
    ages = [timedelta(hours=2), timedelta(days=2), timedelta(days=10), timedelta(days=60), timedelta(days=400)]
    priorities = [recency_priority((now - age).isoformat()) for age in ages]
    assert priorities == sorted(priorities, reverse=True) and len(set(priorities)) == len(ages)
    assert recency_priority(None) == recency_priority("not a date") == 0
    assert recency_priority(format_rfc822(now - timedelta(days=2))) == priorities[1]


def format_rfc822(dt):
    from email.utils import format_datetime

    return format_datetime(dt)
