"""Property tests over hostile input: the cleaning stages on generated and mutated HTML,
the sitemap and feed parsers on generated and mutated XML. Nothing escapes but a clean,
counted rejection (DiscoveryError). Fixed budgets and derandomised, so CI runs the same
examples every time."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newscrawl.charset import decode_html
from newscrawl.discovery import DiscoveryError, parse_feed, parse_sitemap, sniff
from newscrawl.outlets import generic_outlet
from pipelines.clean import clean_page
from scrapy.settings import Settings
from pipelines.validate import check_record

BUDGET = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
URL = "http://127.0.0.1:8000/news/story-1"
OUTLET = generic_outlet("http://127.0.0.1:8000/", name="prop")

TAGS = ["p", "div", "article", "section", "h1", "h2", "li", "ul", "script", "style", "table", "td", "tr",
        "blockquote", "pre", "a", "span", "figure", "nav", "aside", "footer", "header", "noscript", "svg",
        "iframe", "template", "math", "br", "img", "meta"]
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)
ATTRS = st.dictionaries(st.sampled_from(["class", "id", "href", "style", "lang", "dir", "charset", "content",
                                          "itemprop", "hidden", "src"]), TEXT, max_size=3)


@st.composite
def html_trees(draw, depth=0):
    parts = []
    for _ in range(draw(st.integers(0, 4 if depth < 3 else 0))):
        if draw(st.booleans()):
            parts.append(draw(TEXT).replace("<", "&lt;"))
        else:
            tag = draw(st.sampled_from(TAGS))
            attrs = "".join(f' {k}="{v}"' for k, v in draw(ATTRS).items())
            close = draw(st.sampled_from([f"</{tag}>", "", "</p>", "</div></div>"]))
            parts.append(f"<{tag}{attrs}>{draw(html_trees(depth + 1))}{close}")
    return "".join(parts)


@st.composite
def pages(draw):
    head = draw(st.sampled_from(["", '<meta charset="utf-8">', '<meta charset="windows-1256">',
                                 '<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">',
                                 '<script type="application/ld+json">{"@type":"NewsArticle","headline":']))
    html = f"<!doctype html><html><head>{head}<title>{draw(TEXT)}</title></head><body>{draw(html_trees())}</body></html>"
    data = bytearray(html.encode("utf-8"))
    # Mutations: flipped bytes, cut-offs, NULs and stray high bytes.
    for _ in range(draw(st.integers(0, 4))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        op = draw(st.sampled_from(["flip", "cut", "insert"]))
        if op == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@settings(max_examples=120, **BUDGET)
@given(pages())
@pytest.mark.slow
def test_cleaning_stages_survive_generated_and_mutated_html(body):
    html = decode_html(body, draw_header(body))
    record, warnings = clean_page(html, URL, OUTLET, settings=Settings())
    assert isinstance(record["text"], str) and "\x00" not in record["text"]
    assert isinstance(warnings, list)
    assert isinstance(check_record(record), list)  # a rejection, if any, has reasons


def draw_header(body: bytes) -> str:
    return "text/html; charset=utf-8" if len(body) % 2 else "text/html"


# --- XML ----------------------------------------------------------------------------------

ENTITY_DECLS = [
    "", '<!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>',
    '<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/never.dtd">', '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/">%p;]>',
]
LOCS = st.one_of(st.just("http://127.0.0.1:8000/news/a"), st.just("&x;"), st.just("&c;"), TEXT.map(
    lambda t: t.replace("<", "").replace("&", "")), st.just("javascript:alert(1)"), st.just("//relative/x"))


@st.composite
def xml_documents(draw):
    kind = draw(st.sampled_from(["urlset", "sitemapindex", "rss", "feed", "rdf", "other"]))
    entries = draw(st.lists(LOCS, max_size=6))
    if kind in ("urlset", "sitemapindex"):
        item = "url" if kind == "urlset" else "sitemap"
        body = "".join(f"<{item}><loc>{loc}</loc><lastmod>{draw(TEXT).replace('<', '')}</lastmod></{item}>"
                       for loc in entries)
        doc = f'<{kind} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</{kind}>'
    elif kind == "rss":
        doc = "<rss><channel>" + "".join(f"<item><link>{loc}</link><title>&c;</title></item>" for loc in entries) \
            + "</channel></rss>"
    elif kind == "feed":
        doc = '<feed xmlns="http://www.w3.org/2005/Atom">' + "".join(
            f'<entry><link href="{loc.replace(chr(34), "")}"/></entry>' for loc in entries) + "</feed>"
    elif kind == "rdf":
        doc = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
               + "".join(f'<item rdf:about="{loc.replace(chr(34), "")}"/>' for loc in entries) + "</rdf:RDF>")
    else:
        doc = draw(TEXT)
    data = bytearray(('<?xml version="1.0"?>' + draw(st.sampled_from(ENTITY_DECLS)) + doc).encode("utf-8"))
    for _ in range(draw(st.integers(0, 3))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[pos] = draw(st.integers(0, 255))
        else:
            del data[pos:]
    if draw(st.booleans()):
        import gzip

        data = bytearray(gzip.compress(bytes(data))[: draw(st.integers(2, 400))])
    return bytes(data)


@settings(max_examples=400, **BUDGET)
@given(xml_documents())
def test_sitemap_and_feed_parsers_reject_cleanly(data):
    assert sniff(data, "application/xml") in ("sitemap", "sitemap-index", "feed", "html", "other")
    for parse in (parse_sitemap, parse_feed):
        try:
            result = parse(data, "http://127.0.0.1:8000/sitemap.xml", max_size=2**20)
        except DiscoveryError as exc:
            assert exc.kind and "/" not in exc.kind
            continue
        for entry in result.entries:
            url = getattr(entry, "loc", None) or entry.link
            assert url.startswith(("http://", "https://"))
            assert "root:" not in url and "aaaaaaaaaa" not in url  # no entity was expanded
