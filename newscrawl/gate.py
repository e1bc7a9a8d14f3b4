"""The article gate: is a fetched page an article, or a page to follow but not emit?

Section, tag, author, video and index pages are followed for links and never become
records. The verdict comes from, in order: the URL (outlet deny/allow, built-in deny),
JSON-LD @type, og:type, and the amount of article-like paragraph text. Every verdict
names the signal that decided it, so rejections can be counted and audited.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

ARTICLE_TYPES = frozenset(
    {
        "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
        "OpinionNewsArticle", "BackgroundNewsArticle", "ReviewNewsArticle",
        "AskPublicNewsArticle", "SatiricalArticle", "AdvertiserContentArticle",
        "ScholarlyArticle", "TechArticle", "Report", "BlogPosting", "LiveBlogPosting",
        "DiscussionForumPosting",
    }
)
# Pages that are not articles when no article type sits beside them.
NON_ARTICLE_TYPES = frozenset(
    {
        "CollectionPage", "ItemList", "ProfilePage", "VideoObject", "ImageGallery",
        "MediaGallery", "SearchResultsPage", "AboutPage", "ContactPage", "FAQPage",
        "Event", "Product", "Recipe", "PodcastEpisode", "AudioObject",
    }
)
# Present on article pages too (Yoast-style @graph): says nothing by itself.
GENERIC_TYPES = frozenset({"WebPage", "WebSite", "Organization", "Person", "BreadcrumbList",
                           "ImageObject", "NewsMediaOrganization", "SiteNavigationElement"})

NON_ARTICLE_OG = ("video", "profile", "book", "music", "product", "place")

# Path patterns of pages that are never articles. Matched against the lower-cased path.
BUILTIN_DENY: tuple[tuple[str, re.Pattern], ...] = tuple(
    (label, re.compile(pattern))
    for label, pattern in (
        ("/tag/", r"/tags?(/|$)"),
        ("/topic/", r"/topics?(/|$)"),
        ("/category/", r"/categor(y|ies)(/|$)"),
        ("/author/", r"/authors?(/|$)"),
        ("/video/", r"/videos?(/|$)"),
        ("/gallery/", r"/(photo-?)?galler(y|ies)(/|$)"),
        ("/photos/", r"/photos?(/|$)"),
        ("/live-tv", r"/live-?tv(/|$|-)"),
        ("/search", r"/search(/|$|\.)"),
        ("/page/N", r"/page/\d+/?$"),
        ("/section/", r"/sections?(/|$)"),
        ("/feed", r"/(feeds?|rss)(/|$)|\.(rss|atom|xml)$"),
        ("file", r"\.(pdf|jpe?g|png|gif|webp|svg|mp[34]|m4a|zip|docx?|xlsx?)$"),
    )
)

# A paragraph shorter than this is a caption, a byline or a teaser fragment.
MIN_PARAGRAPH_CHARS = 40
# Paragraphs whose text is mostly links are link lists, not prose.
MAX_LINK_RATIO = 0.5
# (Not <form>: some sites wrap the whole page in one.)
EXCLUDED_ANCESTORS = frozenset({"nav", "header", "footer", "aside", "a", "figcaption",
                                "noscript", "button", "select", "template", "script", "style"})
BLOCK_TAGS = frozenset({"div", "td", "article", "section", "main", "body", "blockquote", "dd",
                        "li", "p"})
EXCLUDED_ROLES = frozenset({"navigation", "banner", "contentinfo", "complementary"})
# A container holding this many headline links is a listing, not an article body.
LISTING_HEADLINES = 3
HEADLINE_CHARS = 25
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_WS = re.compile(r"\s+")


@dataclass(frozen=True)
class PageVerdict:
    is_article: bool
    reason: str

    def __bool__(self) -> bool:
        return self.is_article


@lru_cache(maxsize=256)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p) for p in patterns)


def url_verdict(url: str, outlet) -> PageVerdict | None:
    """A verdict from the URL alone, or None when the URL allows an article."""
    for pattern in _compiled(tuple(getattr(outlet, "deny", ()) or ())):
        if pattern.search(url):
            return PageVerdict(False, f"outlet-deny:{pattern.pattern}")
    allow = _compiled(tuple(getattr(outlet, "allow", ()) or ()))
    allowed = any(p.search(url) for p in allow)
    if allow and not allowed:
        return PageVerdict(False, "outlet-allow:no-match")
    path = urlsplit(url).path.lower()
    if path in ("", "/"):
        return PageVerdict(False, "url-root")
    # An outlet's own allow pattern is a deliberate statement and beats the
    # built-in guesses (an outlet whose articles live under /video/, say).
    if not allowed:
        for label, pattern in BUILTIN_DENY:
            if pattern.search(path):
                return PageVerdict(False, f"url-deny:{label}")
    return None


# --- JSON-LD ------------------------------------------------------------------


def _short_type(value) -> str:
    return value.rstrip("/").rpartition("/")[2].rpartition(":")[2] if isinstance(value, str) else ""


def _node_types(node) -> list[str]:
    types = node.get("@type")
    if isinstance(types, list):
        return [_short_type(t) for t in types]
    return [_short_type(types)]


def _walk_jsonld(data, out: list[str], depth: int = 0) -> None:
    """Types of top-level nodes, @graph members and a page's mainEntity; not of items
    listed inside them (an ItemList of NewsArticles is a listing, not an article)."""
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            _walk_jsonld(item, out, depth + 1)
    elif isinstance(data, dict):
        out.extend(t for t in _node_types(data) if t)
        if "@graph" in data:
            _walk_jsonld(data["@graph"], out, depth + 1)
        main = data.get("mainEntity")
        if isinstance(main, (dict, list)):
            _walk_jsonld(main, out, depth + 1)


def _load_jsonld(text: str):
    text = text.strip()
    if text.startswith("<!--"):
        text = text[4:].rsplit("-->", 1)[0]
    text = text.strip().rstrip(";")
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None


def jsonld_blocks(root) -> list:
    blocks = []
    for script in root.iter("script"):
        if (script.get("type") or "").strip().lower() == "application/ld+json" and script.text:
            data = _load_jsonld(script.text)
            if data is not None:
                blocks.append(data)
    return blocks


def jsonld_types(blocks: list) -> list[str]:
    types: list[str] = []
    _walk_jsonld(blocks, types)
    return types


def _article_body_chars(blocks: list) -> int:
    """Length of a JSON-LD articleBody, for pages whose prose is not in <p> elements."""
    best = 0
    stack = list(blocks)
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            body = node.get("articleBody")
            if isinstance(body, str):
                best = max(best, len(body.strip()))
            if "@graph" in node:
                stack.append(node["@graph"])
    return best


# --- text -------------------------------------------------------------------


def _excluded(el) -> bool:
    for ancestor in el.iterancestors():
        tag = ancestor.tag
        if tag in EXCLUDED_ANCESTORS or ancestor.get("role") in EXCLUDED_ROLES:
            return True
    return False


def _headline_links(container) -> int:
    """Links that read like headlines: in a heading, or long and outside running text."""
    count = 0
    for a in container.iter("a"):
        in_heading = in_paragraph = False
        for ancestor in a.iterancestors():
            if ancestor is container:
                break
            tag = ancestor.tag
            if tag in HEADINGS:
                in_heading = True
                break
            if tag == "p":
                in_paragraph = True
                break
        if in_heading or (not in_paragraph and len(a.text_content().strip()) >= HEADLINE_CHARS):
            count += 1
            if count >= LISTING_HEADLINES:
                break
    return count


def _best_container(by_parent: dict) -> int:
    """The most text in one parent, or in one grandparent (for sites that wrap each
    paragraph in its own element) unless that grandparent holds several headline
    links, as a listing of teasers does."""
    if not by_parent:
        return 0
    best = max(by_parent.values())
    by_grandparent: dict = {}
    for parent, chars in by_parent.items():
        grandparent = parent.getparent()
        if grandparent is not None:
            by_grandparent[grandparent] = by_grandparent.get(grandparent, 0) + chars
    for grandparent, chars in sorted(by_grandparent.items(), key=lambda kv: -kv[1]):
        if chars <= best:
            break
        if _headline_links(grandparent) < LISTING_HEADLINES:
            return chars
    return best


def paragraph_text_chars(root) -> int:
    """Characters of article-like <p> text in the page's best container.

    Paragraphs count when long enough, outside navigation chrome and not mostly
    links; text is summed per container, since an article body keeps its
    paragraphs together while a listing scatters teasers over many cards.
    """
    by_parent: dict = {}
    for p in root.iter("p"):
        text = _WS.sub(" ", p.text_content()).strip()
        if len(text) < MIN_PARAGRAPH_CHARS:
            continue
        link_chars = sum(len(a.text_content().strip()) for a in p.iter("a"))
        if link_chars > MAX_LINK_RATIO * len(text) or _excluded(p):
            continue
        parent = p.getparent()
        if parent is not None:
            by_parent[parent] = by_parent.get(parent, 0) + len(text)
    return _best_container(by_parent)


def _block_of(el):
    while el is not None and el.tag not in BLOCK_TAGS:
        el = el.getparent()
    return el


def loose_text_chars(root) -> int:
    """Like paragraph_text_chars, for pages whose prose is not in <p>: long runs of
    text (between <br>s, or in one <div> or <span> per paragraph), summed per block."""
    by_block: dict = {}
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str) or tag in EXCLUDED_ANCESTORS:
            continue
        runs = [(el, el.text)] + [(el, child.tail) for child in el]
        for owner, run in runs:
            if not run or len(run) < MIN_PARAGRAPH_CHARS:
                continue
            chars = len(_WS.sub(" ", run).strip())
            if chars < MIN_PARAGRAPH_CHARS or _excluded(owner):
                continue
            block = _block_of(owner)
            if block is not None:
                by_block[block] = by_block.get(block, 0) + chars
    return _best_container(by_block)


def body_text_chars(root, enough: int = 0) -> int:
    """Article-like text in the page; the slower loose measure only when <p> falls short."""
    chars = paragraph_text_chars(root)
    if chars < enough:
        chars = max(chars, loose_text_chars(root))
    return chars


def _meta_property(root, name: str) -> str | None:
    for meta in root.iter("meta"):
        if (meta.get("property") or meta.get("name") or "").strip().lower() == name:
            content = (meta.get("content") or "").strip().lower()
            if content:
                return content
    return None


# --- the verdict ----------------------------------------------------------------


def classify_page(root, url: str, outlet, *, min_chars: int = 400) -> PageVerdict:
    """Article or not, and the signal that decided. `root` is the page's lxml.html root."""
    verdict = url_verdict(url, outlet)
    if verdict is not None:
        return verdict

    blocks = jsonld_blocks(root)
    types = jsonld_types(blocks)
    article_type = next((t for t in types if t in ARTICLE_TYPES), None)
    if article_type:
        chars = max(body_text_chars(root, enough=min_chars), _article_body_chars(blocks))
        # A paywall teaser or a stub carries the markup but not the article.
        if chars < min_chars / 4:
            return PageVerdict(False, f"stub:{article_type}:{chars}")
        return PageVerdict(True, f"jsonld:{article_type}")
    other_type = next((t for t in types if t in NON_ARTICLE_TYPES), None)
    if other_type:
        return PageVerdict(False, f"jsonld:{other_type}")

    # The text is measured only where it decides: section, tag and video pages usually
    # say what they are above, and measuring is the costly part of the gate.
    og_type = _meta_property(root, "og:type")
    if og_type == "article":
        chars = body_text_chars(root, enough=min_chars)
        if chars < min_chars / 2:
            return PageVerdict(False, f"stub:og:article:{chars}")
        return PageVerdict(True, "og:article")
    if og_type and og_type.startswith(NON_ARTICLE_OG):
        return PageVerdict(False, f"og:{og_type}")
    if types and all(t in GENERIC_TYPES for t in types) and "WebPage" in types:
        # JSON-LD that calls the page only a WebPage, with nothing saying otherwise.
        return PageVerdict(False, "jsonld:WebPage")
    chars = body_text_chars(root, enough=min_chars)
    if chars < min_chars:
        return PageVerdict(False, f"too-short:{chars}")
    return PageVerdict(True, f"text:{chars}")
