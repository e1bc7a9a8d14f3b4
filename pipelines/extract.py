"""Extract stage: the page's body as blocks, and its metadata.

Metadata is read from the untouched page (JSON-LD first, then OpenGraph and meta tags,
then trafilatura's own guesses); the body is extracted after the DOM pre-clean.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable

import lxml.html
import trafilatura
from lxml import etree

ARTICLE_TYPES = {
    "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle", "OpinionNewsArticle",
    "BackgroundNewsArticle", "ReviewNewsArticle", "BlogPosting", "LiveBlogPosting", "Report",
    "ScholarlyArticle", "TechArticle", "SatiricalArticle", "AskPublicNewsArticle",
}

BLOCK_KINDS = {"p": "p", "head": "h", "item": "li", "quote": "quote", "code": "pre", "table": "table"}


def parse_html(html: str) -> lxml.html.HtmlElement:
    # Bytes with an explicit encoding: lxml refuses str input that carries an XML
    # declaration, and would otherwise guess latin-1 for bytes.
    parser = lxml.html.HTMLParser(
        remove_comments=True, remove_pis=True, collect_ids=False, encoding="utf-8"
    )
    return lxml.html.document_fromstring(html.encode("utf-8", "replace"), parser=parser)


def _jsonld_objects(root) -> list[dict]:
    out: list[dict] = []

    def walk(obj):
        if isinstance(obj, list):
            for o in obj:
                walk(o)
        elif isinstance(obj, dict):
            out.append(obj)
            if "@graph" in obj:
                walk(obj["@graph"])

    for script in root.xpath('//script[@type="application/ld+json"]'):
        try:
            walk(json.loads(script.text_content() or "null", strict=False))
        except (ValueError, RecursionError):
            continue
    return out


def _types(obj: dict) -> set[str]:
    t = obj.get("@type")
    return {str(x) for x in t} if isinstance(t, list) else {str(t)} if t else set()


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for v in value for n in _names(v)]
    return []


def _first_str(*values):
    for v in values:
        if isinstance(v, list):
            v = next((x for x in v if isinstance(x, str) and x.strip()), None)
        if isinstance(v, dict):
            v = v.get("url") or v.get("name")
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


def _meta(root) -> dict[str, str]:
    meta: dict[str, str] = {}
    for el in root.xpath("//meta[@content]"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if key and key not in meta:
            meta[key] = el.get("content", "").strip()
    return meta


def extract_metadata(root, url: str, hints: dict | None = None) -> dict:
    hints = hints or {}
    ld = next((o for o in _jsonld_objects(root) if _types(o) & ARTICLE_TYPES), {})
    meta = _meta(root)
    canonical = root.xpath('//link[@rel="canonical"]/@href')
    html_lang = root.get("lang")
    keywords = ld.get("keywords")
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.split(",")]
    tags = [t for t in (keywords or []) if isinstance(t, str) and t.strip()] or [
        el.get("content") for el in root.xpath('//meta[@property="article:tag"]') if el.get("content")
    ]
    free = ld.get("isAccessibleForFree")
    if isinstance(free, str):
        free = {"true": True, "false": False}.get(free.strip().lower())
    title_el = root.find(".//title")
    return {
        "title": _first_str(ld.get("headline"), meta.get("og:title"), meta.get("twitter:title"),
                            hints.get("title"), title_el.text_content() if title_el is not None else None),
        "description": _first_str(ld.get("description"), meta.get("og:description"), meta.get("description")),
        "authors": _names(ld.get("author")) or [
            a for a in (meta.get("author"), meta.get("article:author")) if a and not a.startswith("http")
        ],
        "published_at": _first_str(ld.get("datePublished"), meta.get("article:published_time"),
                                   hints.get("published_at")),
        "modified_at": _first_str(ld.get("dateModified"), meta.get("article:modified_time")),
        "language": _first_str(ld.get("inLanguage"), html_lang, meta.get("og:locale")),
        "site_name": _first_str(meta.get("og:site_name"), ld.get("publisher")),
        "section": _first_str(ld.get("articleSection"), meta.get("article:section")),
        "tags": tags,
        "image": _first_str(ld.get("image"), meta.get("og:image")),
        "canonical_url": _first_str(canonical[0] if canonical else None, meta.get("og:url")),
        "paywalled": (not free) if isinstance(free, bool) else None,
    }


def _block_from(el) -> dict:
    text = " ".join(" ".join(el.itertext()).split())
    links = [r.get("target") for r in el.iter("ref") if r.get("target")]
    link_chars = sum(len(" ".join(" ".join(r.itertext()).split())) for r in el.iter("ref"))
    return {"kind": BLOCK_KINDS.get(el.tag, "p"), "text": text, "links": links, "link_chars": link_chars}


def body_blocks(body) -> list[dict]:
    """trafilatura's XML body as blocks in reading order; a list yields one block per item."""
    blocks = []
    if body is None:
        return blocks
    for el in body:
        if el.tag == "list":
            blocks.extend(_block_from(item) for item in el.iter("item"))
        else:
            blocks.append(_block_from(el))
    return [b for b in blocks if b["text"]]


def extract_body(root, url: str, titles: list[str], jsonld_body: str | None = None) -> tuple[list[dict], str]:
    """The article body as blocks, and the name of what produced it.

    A cascade: trafilatura in its precision mode first; only when that result looks
    doubtful (short, or a listing rather than prose) do the wider extractors run and
    vote. A leading block that repeats the headline is dropped either way.
    """
    from pipelines import body_vote

    blocks = _trafilatura_blocks(root, url, favor_precision=True)
    producer = f"trafilatura-{trafilatura.__version__}:precision"
    if body_vote.doubtful(blocks):
        blocks, producer = body_vote.vote(
            primary=blocks,
            wide=_trafilatura_blocks(root, url),
            readability_text=body_vote.readability_text(root),
            jsonld_body=jsonld_body,
        )
    return body_vote.drop_repeated_headline(blocks, titles), producer


def _trafilatura_blocks(root, url: str, **options) -> list[dict]:
    doc = trafilatura.bare_extraction(
        root, url=url, with_metadata=False, include_comments=False, include_tables=True,
        include_links=True, include_images=False, output_format="python", **options,
    )
    return body_blocks(doc.body if doc is not None else None)


def _jsonld_article_body(root) -> str | None:
    for obj in _jsonld_objects(root):
        body = obj.get("articleBody")
        if _types(obj) & ARTICLE_TYPES and isinstance(body, str) and body.strip():
            return body
    return None


def _headline_candidates(root, record: dict) -> list[str]:
    titles = [record.get("title")] + [h.text_content() for h in root.xpath("//h1")[:3]]
    title_el = root.find(".//title")
    if title_el is not None:
        titles.append(title_el.text_content())
    return [t for t in titles if t and t.strip()]


def extract_article(html: str, url: str, *, preclean: Callable | None = None, hints: dict | None = None) -> dict:
    root = parse_html(html)
    record = extract_metadata(root, url, hints)
    titles = _headline_candidates(root, record)
    jsonld_body = _jsonld_article_body(root)
    removed: Counter = Counter()
    body_root = copy.deepcopy(root) if preclean else root
    if preclean:
        removed.update(preclean(body_root) or {})
    record["_blocks"], producer = extract_body(body_root, url, titles, jsonld_body)
    record["cleaning"] = {"removed": dict(removed), "extractor": producer}
    return record


PROVENANCE = ("outlet", "fetched_at", "discovered_via", "discovered_from", "http_status")


def extract_raw(raw: dict, outlet) -> dict:
    """A RawArticle (as a dict) to a record: the whole extract stage, as a pure function."""
    from pipelines.decruft import preclean_dom

    url = raw.get("final_url") or raw["url"]
    record = {"url": url, **{k: raw.get(k) for k in PROVENANCE}}
    record.update(
        extract_article(
            raw["html"], url, preclean=lambda tree: preclean_dom(tree, outlet), hints=raw.get("hints")
        )
    )
    return record


class ExtractPipeline:
    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        from itemadapter import ItemAdapter

        return extract_raw(ItemAdapter(item).asdict(), self.crawler.spider.outlet)
