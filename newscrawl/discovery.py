"""Discovery parsers: sitemaps, feeds, links in HTML, and robots.txt Sitemap lines made absolute.

Pure functions over bytes and lxml elements; the spider does the fetching. Input is
hostile by default: XML is parsed without entity expansion, DTD loading or network
access, gzip is inflated under a hard cap, and every failure is a `DiscoveryError`
whose `kind` is short enough to be a stats key.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urldefrag, urljoin

from lxml import etree

from newscrawl.urls import is_fetchable_url

# How an article URL was found (RawArticle.discovered_via).
VIA_ROBOTS_SITEMAP = "robots-sitemap"  # a urlset listed in robots.txt
VIA_SITEMAP_INDEX = "sitemap-index"  # a urlset reached through a sitemap index
VIA_NEWS_SITEMAP = "news-sitemap"  # a Google News sitemap, wherever it was listed
VIA_SITEMAP = "sitemap"  # a sitemap named in the outlet record, or guessed
VIA_FEED_RSS = "feed-rss"
VIA_FEED_ATOM = "feed-atom"
VIA_FEED_RDF = "feed-rdf"
VIA_HOMEPAGE = "homepage"
VIA_SECTION = "section"
VIA_START_URL = "start-url"
VIA_WARC_IMPORT = "warc-import"  # taken from a WARC or ARC file by `newscrawl import-warc`

VIA_FEED = {"rss": VIA_FEED_RSS, "atom": VIA_FEED_ATOM, "rdf": VIA_FEED_RDF}

MAX_XML_SIZE = 50 * 2**20  # the sitemaps.org limit for one uncompressed sitemap
SNIFF_SIZE = 8192

NS_NEWS = "http://www.google.com/schemas/sitemap-news/0.9"
NS_ATOM = "http://www.w3.org/2005/Atom"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_RSS1 = "http://purl.org/rss/1.0/"
NS_DC = "http://purl.org/dc/elements/1.1/"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
GZIP_MAGIC = b"\x1f\x8b"

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
SKIP_SCHEMES = ("javascript:", "mailto:", "tel:", "data:", "sms:", "callto:", "about:")


class DiscoveryError(ValueError):
    """Input that cannot be read as what it was fetched as. `kind` is a stats key."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class SitemapEntry:
    loc: str
    lastmod: str | None = None
    news_title: str | None = None
    news_published: str | None = None
    news_language: str | None = None

    @property
    def is_news(self) -> bool:
        return any((self.news_title, self.news_published, self.news_language))


@dataclass
class Sitemap:
    kind: str  # "index" | "urlset"
    entries: list[SitemapEntry] = field(default_factory=list)
    skipped: int = 0  # entries without a usable absolute http(s) loc
    # The document was not well-formed (typically cut short) and what could be read
    # was kept; the spider counts it, since the rest of it may be lost.
    recovered: bool = False

    @property
    def is_news(self) -> bool:
        return any(e.is_news for e in self.entries)


@dataclass(frozen=True)
class FeedEntry:
    link: str
    title: str | None = None
    published: str | None = None


@dataclass
class Feed:
    kind: str  # "rss" | "atom" | "rdf"
    entries: list[FeedEntry] = field(default_factory=list)
    skipped: int = 0
    recovered: bool = False


# --- bytes ------------------------------------------------------------------


def _gunzip_prefix(body: bytes, size: int) -> bytes:
    """The first `size` inflated bytes of a gzip body, or b"" when it will not inflate."""
    try:
        return zlib.decompressobj(wbits=31).decompress(body, size)
    except zlib.error:
        return b""


def decode_body(body: bytes, max_size: int = MAX_XML_SIZE) -> bytes:
    """The body, inflated when it is gzip (told by its magic bytes, not its name) by
    Scrapy's gunzip: every member, a cut-off stream kept as far as it inflated, and
    inflating stopped once past max_size (0: no limit)."""
    if body[:2] == GZIP_MAGIC:
        # Imported here: the workers import this module for page links, and not Scrapy.
        from scrapy.utils.gz import gunzip

        try:
            body = gunzip(body, max_size=max_size)
        except ValueError as exc:  # Scrapy's size check (a ValueError)
            raise DiscoveryError("too-large", str(exc)) from None
        except (OSError, EOFError, struct.error, zlib.error) as exc:
            raise DiscoveryError("bad-gzip", str(exc) or type(exc).__name__) from None
    elif max_size and len(body) > max_size:
        raise DiscoveryError("too-large", f"{len(body)} bytes")
    return body


# --- XML --------------------------------------------------------------------

# No entity expansion (XXE, billion laughs), no DTD, no network, default size limits.
_PARSER_OPTS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=True,
    remove_pis=True,
)


def _safe_parser(recover: bool) -> etree.XMLParser:
    return etree.XMLParser(recover=recover, **_PARSER_OPTS)


_STRICT = _safe_parser(False)
_RECOVER = _safe_parser(True)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.I)


def parse_xml(data: bytes) -> tuple[etree._Element, bool]:
    """(root, recovered): strict parse first, then libxml2's recovery for broken input."""
    if not data.startswith(_BOMS):
        # Blank lines before the XML declaration are a common publishing bug.
        data = data.lstrip(b" \t\r\n")
    if not data.strip():
        raise DiscoveryError("empty")
    if _ENTITY_DECL.search(data):
        # Sitemaps and feeds never need their own entities; libxml2 expands internal ones
        # inside attribute values whatever the parser options say.
        raise DiscoveryError("entities", "the document declares entities")
    try:
        return etree.fromstring(data, _STRICT), False
    except etree.XMLSyntaxError:
        pass
    except (ValueError, TypeError) as exc:
        raise DiscoveryError("malformed-xml", str(exc)) from None
    try:
        root = etree.fromstring(data, _RECOVER)
    except (etree.XMLSyntaxError, ValueError, TypeError) as exc:
        raise DiscoveryError("malformed-xml", str(exc)) from None
    if root is None:
        raise DiscoveryError("malformed-xml", "no root element")
    return root, True


def _local(tag) -> str:
    if not isinstance(tag, str):
        return ""  # comments, entities, processing instructions
    return tag.rpartition("}")[2]


def _ns(tag) -> str:
    return tag[1:].partition("}")[0] if isinstance(tag, str) and tag.startswith("{") else ""


def _plain_text(el) -> str:
    """Text of an element and its descendants. Unexpanded entity references are left
    out (itertext would render them as "&name;")."""
    parts = [el.text or ""]
    for child in el:
        if isinstance(child.tag, str):
            parts.append(_plain_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _text(el) -> str | None:
    """Text of an element and its descendants, whitespace collapsed; None when blank."""
    if el is None:
        return None
    text = " ".join(_plain_text(el).split())
    return text or None


def _join(base: str, href: str | None) -> str | None:
    """href resolved against base; None when either is not a URL urllib can read."""
    if not href:
        return None
    try:
        return urljoin(base, href.strip())
    except ValueError:  # e.g. "http://[" (an unclosed IPv6 bracket)
        return None


# --- robots.txt -------------------------------------------------------------

def robots_sitemaps(values, robots_url: str) -> list[str]:
    """The Sitemap lines of a robots.txt (as its parser read them) resolved against its
    URL: absolute http(s) URLs, deduplicated, in order."""
    seen: dict[str, None] = {}
    for value in values:
        url = _join(robots_url, value)
        if url and is_fetchable_url(url):
            seen.setdefault(url, None)
    return list(seen)


# --- sitemaps ---------------------------------------------------------------


def parse_sitemap(body: bytes, url: str, *, max_size: int = MAX_XML_SIZE) -> Sitemap:
    """A sitemap index or urlset (XML or the plain-text one-URL-a-line form)."""
    data = decode_body(body, max_size)
    head = data[:SNIFF_SIZE].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise DiscoveryError("empty")
    if not head.startswith(b"<") and _TEXT_URL_LINE.match(head):
        return _parse_text_sitemap(data)
    root, recovered = parse_xml(data)
    kind = {"urlset": "urlset", "sitemapindex": "index"}.get(_local(root.tag))
    if kind is None:
        raise DiscoveryError("not-a-sitemap", f"root element <{_local(root.tag)}>")
    ns = _ns(root.tag)
    entry_tag = "url" if kind == "urlset" else "sitemap"
    sitemap = Sitemap(kind=kind, recovered=recovered)
    for el in root:
        if _local(el.tag) != entry_tag:
            continue
        fields = _entry_fields(el, ns)
        loc = fields.get("loc")
        if not loc or not is_fetchable_url(loc):
            sitemap.skipped += 1
            continue
        sitemap.entries.append(SitemapEntry(**fields))
    return sitemap


def _entry_fields(el, ns: str) -> dict:
    """loc and lastmod from the sitemap's own namespace; the rest from news:news."""
    fields: dict = {}
    for child in el:
        tag = child.tag
        name = _local(tag)
        child_ns = _ns(tag)
        if child_ns == NS_NEWS and name == "news":
            fields.update(_news_fields(child))
        # image:loc, video:content_loc and friends live in other namespaces.
        elif child_ns == ns and name in ("loc", "lastmod") and name not in fields:
            value = _plain_text(child).strip()
            if value:
                fields[name] = value
    return fields


def _news_fields(news) -> dict:
    fields = {}
    for child in news:
        name = _local(child.tag)
        if name == "title":
            fields["news_title"] = _text(child)
        elif name == "publication_date":
            fields["news_published"] = _text(child)
        elif name == "publication":
            for sub in child:
                if _local(sub.tag) == "language":
                    fields["news_language"] = _text(sub)
    return {k: v for k, v in fields.items() if v}


_TEXT_URL_LINE = re.compile(rb"https?://\S+\s*(\n|$)", re.I)


def _parse_text_sitemap(data: bytes) -> Sitemap:
    sitemap = Sitemap(kind="urlset")
    for line in data.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line:
            continue
        if is_fetchable_url(line):
            sitemap.entries.append(SitemapEntry(loc=line))
        else:
            sitemap.skipped += 1
    return sitemap


# --- feeds ------------------------------------------------------------------


def parse_feed(body: bytes, url: str, *, max_size: int = MAX_XML_SIZE) -> Feed:
    """An RSS 2.0 (and 0.9x), RSS 1.0 (RDF) or Atom feed; links resolved against url."""
    root, recovered = parse_xml(decode_body(body, max_size))
    name, ns = _local(root.tag), _ns(root.tag)
    if name == "rss":
        feed = _parse_rss(root, url)
    elif name == "feed" and ns in (NS_ATOM, ""):
        feed = _parse_atom(root, url)
    elif name == "RDF" and ns == NS_RDF:
        feed = _parse_rdf(root, url)
    else:
        raise DiscoveryError("not-a-feed", f"root element <{name}>")
    feed.recovered = recovered
    return feed


def _child(el, *names: str, ns: str | None = None):
    for child in el:
        if _local(child.tag) in names and (ns is None or _ns(child.tag) == ns):
            return child
    return None


def _add_entry(feed: Feed, link: str | None, base: str, title, published) -> None:
    link = _join(base, link)
    if link and is_fetchable_url(link):
        feed.entries.append(FeedEntry(link=link, title=_text(title), published=_text(published)))
    else:
        feed.skipped += 1


def _parse_rss(root, url: str) -> Feed:
    channel = _child(root, "channel")
    if channel is None:
        raise DiscoveryError("not-a-feed", "rss without channel")
    feed = Feed(kind="rss")
    for item in channel.iter("item"):  # RSS 2.0 items are unnamespaced
        link = _text(_child(item, "link", ns=""))
        if not link:
            # Permalink guids are the article URL when <link> is missing.
            guid = _child(item, "guid", ns="")
            if guid is not None and guid.get("isPermaLink", "true").lower() != "false":
                link = _text(guid)
            else:
                link = _atom_link(item, url)
        published = _child(item, "pubDate", ns="")
        if published is None:
            published = _child(item, "date", ns=NS_DC)
        _add_entry(feed, link, url, _child(item, "title", ns=""), published)
    return feed


def _atom_link(entry, base: str) -> str | None:
    """The entry's rel=alternate link (the default rel), preferring HTML."""
    best = None
    for link in entry:
        if _local(link.tag) != "link" or _ns(link.tag) not in (NS_ATOM, _ns(entry.tag)):
            continue
        rel = (link.get("rel") or "alternate").strip().lower()
        href = link.get("href")
        if rel != "alternate" or not href:
            continue
        kind = (link.get("type") or "text/html").lower()
        if "html" in kind:
            return href
        best = best or href
    return best


def _parse_atom(root, url: str) -> Feed:
    ns = _ns(root.tag)
    base = _join(url, root.get(XML_BASE)) or url
    feed = Feed(kind="atom")
    for entry in root:
        if _local(entry.tag) != "entry":
            continue
        entry_base = _join(base, entry.get(XML_BASE)) or base
        published = _child(entry, "published", ns=ns)
        if published is None:
            published = _child(entry, "updated", ns=ns)
        link = _atom_link(entry, entry_base)
        _add_entry(feed, link, entry_base, _child(entry, "title", ns=ns), published)
    return feed


def _parse_rdf(root, url: str) -> Feed:
    feed = Feed(kind="rdf")
    for item in root.iter(f"{{{NS_RSS1}}}item"):
        link = _text(_child(item, "link", ns=NS_RSS1)) or item.get(f"{{{NS_RDF}}}about")
        _add_entry(feed, link, url, _child(item, "title", ns=NS_RSS1), _child(item, "date", ns=NS_DC))
    return feed


# --- sniffing ---------------------------------------------------------------

# Skips the XML declaration, comments, processing instructions and doctypes to the
# first element; a doctype of html says HTML by itself.
# A doctype may carry an internal subset in brackets (entity declarations: never expanded,
# but the document is still what its root element says).
_PROLOG = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!doctype\s+html\b|<!doctype[^>\[]*(?:\[.*?\]\s*)?>)",
                     re.I | re.S)
_FIRST_TAG = re.compile(rb"\s*<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)")


def sniff(body: bytes, content_type: str | None) -> str:
    """What a response is: "sitemap", "sitemap-index", "feed", "html" or "other"."""
    head = _gunzip_prefix(body, SNIFF_SIZE) if body[:2] == GZIP_MAGIC else body[:SNIFF_SIZE]
    if head[:3] == b"\xef\xbb\xbf":
        head = head[3:]
    elif head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        head = head.decode("utf-16", "replace").encode("utf-8")
    pos = 0
    while True:
        match = _PROLOG.match(head, pos)
        if not match:
            break
        if match.group(0).lower().lstrip().startswith(b"<!doctype html"):
            return "html"
        pos = match.end()
    match = _FIRST_TAG.match(head, pos)
    ctype = (content_type or "").split(";")[0].strip().lower()
    if match:
        name = match.group(2).decode("ascii", "replace").lower()
        if name == "urlset":
            return "sitemap"
        if name == "sitemapindex":
            return "sitemap-index"
        if name in ("rss", "feed", "rdf"):
            return "feed"
        if name in ("html", "head", "body"):
            return "html"
    if ctype in ("text/html", "application/xhtml+xml"):
        return "html"
    if ctype == "text/plain" and _TEXT_URL_LINE.match(head.lstrip()):
        return "sitemap"
    return "other"


# --- links in HTML ------------------------------------------------------------


def _document_base(root, base_url: str) -> str:
    """base_url, overridden by the page's own <base href> when it has one."""
    for base in root.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            return _join(base_url, href) or base_url
        break
    return base_url


_HREF_JUNK = re.compile(r"[\t\n\r]")


def _absolute(href: str, base: str) -> str | None:
    href = _HREF_JUNK.sub("", href).strip()
    if not href or href.startswith("#") or href.lower().startswith(SKIP_SCHEMES):
        return None
    url = _join(base, href)
    if url is None:
        return None
    url = urldefrag(url)[0]
    return url if is_fetchable_url(url) else None


def feed_links(root, base_url: str) -> list[str]:
    """Feeds advertised with <link rel="alternate" type="application/(rss|atom|rdf)+xml">."""
    base = _document_base(root, base_url)
    seen: dict[str, None] = {}
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" in rel and kind in FEED_TYPES:
            url = _absolute(link.get("href") or "", base)
            if url:
                seen.setdefault(url, None)
    return list(seen)


def page_links(root, base_url: str) -> list[str]:
    """Absolute http(s) targets of <a href>, fragment dropped, deduplicated, in order."""
    base = _document_base(root, base_url)
    seen: dict[str, None] = {}
    for href in root.xpath("//a/@href"):
        url = _absolute(href, base)
        if url:
            seen.setdefault(url, None)
    return list(seen)


@lru_cache(maxsize=4096)  # a sitemap repeats its dates; each entry is read twice (age, priority)
def entry_datetime(value: str | None):
    """An aware datetime from a sitemap (W3C/ISO 8601) or feed (RFC 822) date; None when
    unreadable. A date without a zone is taken as UTC: a day's error at most, which is
    all an age cut-off needs."""
    if not value or not isinstance(value, str):
        return None
    value = value.strip()
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            dt = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
