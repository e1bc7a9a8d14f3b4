"""The article gate: is a fetched page an article, or a page to follow but not emit?

Section, tag, author, video and index pages are followed for links and never become
records. The verdict comes from, in order: the URL (outlet deny/allow, built-in deny),
JSON-LD @type, og:type, and the amount of article-like paragraph text. Every verdict
names the signal that decided it, so rejections can be counted and audited.

An article type anywhere the page describes itself (top level, @graph, mainEntity,
mainEntityOfPage) beats the media objects an article embeds (a VideoObject beside or
inside a NewsArticle), and a long, article-like body beats JSON-LD or og:type that call
the page a video, gallery or audio page. A page that calls itself an article is a stub
only when extraction, too, would find next to no text in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
        "Event", "Product", "Recipe", "PodcastEpisode", "AudioObject", "Clip", "MusicRecording",
        "Movie",
    }
)
# Objects an article embeds: a page whose JSON-LD names only these is a media page,
# unless its own text is a long article body.
MEDIA_TYPES = frozenset({"VideoObject", "ImageGallery", "MediaGallery", "AudioObject", "PodcastEpisode",
                         "Clip", "MusicRecording", "Movie"})
# Present on article pages too (Yoast-style @graph): says nothing by itself.
GENERIC_TYPES = frozenset({"WebPage", "WebSite", "Organization", "Person", "BreadcrumbList",
                           "ImageObject", "NewsMediaOrganization", "SiteNavigationElement"})

NON_ARTICLE_OG = ("video", "profile", "book", "music", "product", "place")
MEDIA_OG = ("video", "music")

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
# How far above a paragraph's parent its text is summed: wrappers around each paragraph
# and around the body (a grid's row and column, say).
CONTAINER_LEVELS = 3
# Elements that hold one paragraph each on sites that write no <p>, when no block sits
# inside them; and the blocks that, inside one, make it a container instead.
LEAF_CANDIDATES = ("div", "span", "section", "article", "td", "dd", "blockquote", "font", "center")
INNER_BLOCKS = ("p", "div", "section", "article", "table", "ul", "ol", "li", "dl", "h1", "h2", "h3", "h4",
                "h5", "h6", "blockquote", "pre", "form", "header", "footer", "nav", "aside", "figure",
                "main", "td")
# Inline elements, which hold a paragraph only as the child of one of these.
INLINE_LEAVES = frozenset({"span", "font"})
LEAF_CONTAINERS = frozenset({"div", "section", "article", "td", "dd", "blockquote", "main", "body", "center"})
# A body this long, in article-like paragraphs, is an article whatever embedded media
# the page's JSON-LD or og:type describe (times the gate's min_chars).
LONG_BODY_FACTOR = 3
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


# Keys along which a page describes itself. Other keys (itemListElement, hasPart,
# isPartOf, video, about, ...) hold other works: an ItemList of NewsArticles is a listing.
SELF_KEYS = ("@graph", "mainEntity", "mainEntityOfPage")
MAX_JSONLD_DEPTH = 16


def _walk_jsonld(data, out: list[str], depth: int = 0, page_ref: bool = False) -> None:
    """Types of top-level nodes, @graph members and a page's mainEntity or
    mainEntityOfPage, through lists and any nesting of those; not of items listed inside
    them (an ItemList of NewsArticles is a listing, not an article). `page_ref`: under a
    mainEntityOfPage, which names the page an entity sits on, mostly a bare WebPage that
    says nothing about it; only the telling types there count."""
    if depth > MAX_JSONLD_DEPTH:
        return
    if isinstance(data, list):
        for item in data:
            _walk_jsonld(item, out, depth + 1, page_ref)
    elif isinstance(data, dict):
        out.extend(t for t in _node_types(data) if t and not (page_ref and t in GENERIC_TYPES))
        for key in SELF_KEYS:
            value = data.get(key)
            if isinstance(value, (dict, list)):
                _walk_jsonld(value, out, depth + 1, key == "mainEntityOfPage")


# Repairs for JSON-LD that browsers' and search engines' lenient readers accept: an
# invalid escape (\' or \ before any other character), a trailing comma.
_ESCAPE = re.compile(r"\\(.)", re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _repair_escape(match: re.Match) -> str:
    return match.group(0) if match.group(1) in '"\\/bfnrtu' else match.group(1)


def _decode_all(text: str) -> list:
    """Every JSON value in text: one, or several written one after another (up to the
    first that does not parse)."""
    decoder = json.JSONDecoder(strict=False)
    values, pos, end = [], 0, len(text)
    while pos < end:
        try:
            value, pos = decoder.raw_decode(text, pos)
        except ValueError:
            if values:
                break
            raise
        values.append(value)
        while pos < end and text[pos] in " \t\r\n;,":
            pos += 1
    return values


def _load_jsonld(text: str):
    text = text.strip()
    if text.startswith("<!--"):
        text = text[4:].rsplit("-->", 1)[0]
    text = text.strip().rstrip(";")
    if text.startswith("<![CDATA["):
        text = text[9:].rsplit("]]>", 1)[0].strip()
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        pass
    repaired = _TRAILING_COMMA.sub(r"\1", _ESCAPE.sub(_repair_escape, text))
    try:
        values = _decode_all(repaired)
    except (ValueError, RecursionError):
        return None
    return values[0] if len(values) == 1 else values or None


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
            stack.extend(node[key] for key in SELF_KEYS if isinstance(node.get(key), (dict, list)))
    return best


# --- text -------------------------------------------------------------------


def _excluded(el) -> bool:
    for ancestor in el.iterancestors():
        tag = ancestor.tag
        if tag in EXCLUDED_ANCESTORS or ancestor.get("role") in EXCLUDED_ROLES:
            # A named anchor (<a name=...>, no href) is no link: left unclosed, the
            # parser nests the rest of the page in it.
            if tag == "a" and ancestor.get("href") is None and ancestor.get("role") not in EXCLUDED_ROLES:
                continue
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
    """The most text in one parent, or in one of its ancestors up to CONTAINER_LEVELS
    above it (an article body nests its paragraphs in wrappers: one per paragraph, or
    around groups of them) unless that ancestor reads as a listing of teasers: several
    headline links, or a headline link for about every group of text it holds."""
    if not by_parent:
        return 0
    best = max(by_parent.values())
    totals: dict = {}
    groups: dict = {}
    for parent, chars in by_parent.items():
        container = parent.getparent()
        for _ in range(CONTAINER_LEVELS):
            if container is None:
                break
            totals[container] = totals.get(container, 0) + chars
            groups[container] = groups.get(container, 0) + 1
            container = container.getparent()
    # Each ancestor also holds the text measured in the parents under it directly.
    for container in totals:
        if container in by_parent:
            totals[container] += by_parent[container]
            groups[container] += 1
    for container, chars in sorted(totals.items(), key=lambda kv: -kv[1]):
        if chars <= best:
            break
        links = _headline_links(container)
        if links < LISTING_HEADLINES and not (links >= 2 and 2 * links >= groups[container]):
            return chars
    return best


def prose_chars(el) -> int:
    """Characters of an element's text when it reads as a paragraph of prose (long enough,
    not mostly links), else 0."""
    text = _WS.sub(" ", el.text_content()).strip()
    if len(text) < MIN_PARAGRAPH_CHARS:
        return 0
    link_chars = sum(len(a.text_content().strip()) for a in el.iter("a"))
    if link_chars > MAX_LINK_RATIO * len(text):
        return 0
    return len(text)


def _paragraphs_by_parent(root) -> dict:
    by_parent: dict = {}
    for p in root.iter("p"):
        chars = prose_chars(p)
        if not chars or _excluded(p):
            continue
        parent = p.getparent()
        if parent is not None:
            by_parent[parent] = by_parent.get(parent, 0) + chars
    return by_parent


def paragraph_text_chars(root) -> int:
    """Characters of article-like <p> text in the page's best container.

    Paragraphs count when long enough, outside navigation chrome and not mostly
    links; text is summed per container, since an article body keeps its
    paragraphs together while a listing scatters teasers over many cards.
    """
    return _best_container(_paragraphs_by_parent(root))


def _block_of(el):
    while el is not None and el.tag not in BLOCK_TAGS:
        el = el.getparent()
    return el


def loose_text_chars(root) -> int:
    """Like paragraph_text_chars, also counting prose that is not in <p>: one <div>,
    <span>, <td>... per paragraph (its whole text, links and emphasis included), and long
    runs of text between <br>s or beside block elements; all summed per container with
    the <p> paragraphs, as a body may mix them."""
    by_block = _paragraphs_by_parent(root)
    leaves = set()
    for el in root.iter(LEAF_CANDIDATES):
        parent = el.getparent()
        if parent is None or parent in leaves:
            continue
        if el.tag in INLINE_LEAVES and parent.tag not in LEAF_CONTAINERS:
            continue  # inline text inside a paragraph or a link, counted with it or not at all
        if next(el.iterdescendants(INNER_BLOCKS), None) is not None:
            continue
        leaves.add(el)
        chars = prose_chars(el)
        if chars and not _excluded(el):
            by_block[parent] = by_block.get(parent, 0) + chars
    for el in root.iter():
        tag = el.tag
        if not isinstance(tag, str) or tag in EXCLUDED_ANCESTORS:
            continue
        runs = [el.text] + [child.tail for child in el]
        if not any(run and len(run) >= MIN_PARAGRAPH_CHARS for run in runs):
            continue
        block = _block_of(el)
        if block is None or block.tag == "p" or block in leaves or el in leaves or _excluded(el):
            continue
        for run in runs:
            if not run or len(run) < MIN_PARAGRAPH_CHARS:
                continue
            chars = len(_WS.sub(" ", run).strip())
            if chars >= MIN_PARAGRAPH_CHARS:
                by_block[block] = by_block.get(block, 0) + chars
    return _best_container(by_block)


def body_text_chars(root, enough: int = 0) -> int:
    """Article-like text in the page; the slower loose measure only when <p> falls short."""
    chars = paragraph_text_chars(root)
    if chars < enough:
        chars = max(chars, loose_text_chars(root))
    return chars


def _stub_rescue(root, url: str, chars: int, needed: float, extracted, page_data) -> tuple[int, str]:
    """Measures again, as extraction will, a page that calls itself an article but whose
    text fell short: (chars, how they were found), or (the gate's own count, "") when
    neither extraction (`extracted(root, url)`, when given) nor the data the page ships
    for its scripts (`page_data(root)`, when given: newscrawl.page_data) hold more."""
    if extracted is not None:
        found = extracted(root, url)
        if found >= needed:
            return found, "extracted"
    if page_data is not None:
        found = page_data(root)
        if found >= needed:
            return found, "page-data"
    return chars, ""


def _meta_property(root, name: str) -> str | None:
    for meta in root.iter("meta"):
        if (meta.get("property") or meta.get("name") or "").strip().lower() == name:
            content = (meta.get("content") or "").strip().lower()
            if content:
                return content
    return None


# --- the verdict ----------------------------------------------------------------


def classify_page(root, url: str, outlet, *, min_chars: int = 400,
                  extracted: Callable[[object, str], int] | None = None,
                  page_data: Callable[[object], int] | None = None) -> PageVerdict:
    """Article or not, and the signal that decided. `root` is the page's lxml.html root.
    `extracted(root, url)`: the characters of body text extraction finds on the page,
    asked only before a page that calls itself an article is called a stub (the gate
    measures text its own cheaper way; the extract stage knows it, the gate does not);
    `page_data(root)`, the characters of the article in the data the page ships for its
    scripts, asked then too (a page built by JavaScript has no body of its own)."""
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
            chars, found = _stub_rescue(root, url, chars, min_chars / 4, extracted, page_data)
            if not found:
                return PageVerdict(False, f"stub:{article_type}:{chars}")
            return PageVerdict(True, f"jsonld:{article_type}:{found}")
        return PageVerdict(True, f"jsonld:{article_type}")
    other_type = next((t for t in types if t in NON_ARTICLE_TYPES), None)
    if other_type:
        if other_type in MEDIA_TYPES:
            return _media_or_article(root, min_chars, f"jsonld:{other_type}")
        return PageVerdict(False, f"jsonld:{other_type}")

    # The text is measured only where it decides: section, tag and video pages usually
    # say what they are above, and measuring is the costly part of the gate.
    og_type = _meta_property(root, "og:type")
    if og_type == "article":
        chars = body_text_chars(root, enough=min_chars)
        if chars < min_chars / 2:
            chars, found = _stub_rescue(root, url, chars, min_chars / 2, extracted, page_data)
            if not found:
                return PageVerdict(False, f"stub:og:article:{chars}")
            return PageVerdict(True, f"og:article:{found}")
        return PageVerdict(True, "og:article")
    if og_type and og_type.startswith(NON_ARTICLE_OG):
        if og_type.startswith(MEDIA_OG):
            return _media_or_article(root, min_chars, f"og:{og_type}")
        return PageVerdict(False, f"og:{og_type}")
    if types and all(t in GENERIC_TYPES for t in types) and "WebPage" in types:
        # JSON-LD that calls the page only a WebPage, with nothing saying otherwise.
        return PageVerdict(False, "jsonld:WebPage")
    chars = body_text_chars(root, enough=min_chars)
    if chars < min_chars:
        return PageVerdict(False, f"too-short:{chars}")
    return PageVerdict(True, f"text:{chars}")


def _media_or_article(root, min_chars: int, reason: str) -> PageVerdict:
    """A page that says it is a video, gallery or audio page: an article all the same when
    its own text is a long article body (the media object is one the article embeds)."""
    chars = body_text_chars(root, enough=LONG_BODY_FACTOR * min_chars)
    if chars >= LONG_BODY_FACTOR * min_chars:
        return PageVerdict(True, f"text:{chars}:over:{reason}")
    return PageVerdict(False, reason)
