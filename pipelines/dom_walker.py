"""The DOM walker: the decruft rules on the page's tree, before extraction.

`preclean_dom` walks the parsed page once, bottom-up, and removes the blocks that are
cruft whatever their text says: those an outlet's `drop_selectors` name; containers whose
class or id name a kind of cruft; link lists whose links go to app stores, social
profiles or share intents; forms, store badges, link-dense "related" and "latest"
lists, ad slots. A container that holds story paragraphs is never removed. Pure: a
function of the tree, the outlet record and the rules (pipelines/cruft_rules.py).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from functools import lru_cache

import lxml.etree

from pipelines.cruft_rules import (LIST_CATEGORIES, STORY_PARAGRAPH_CHARS, URL_ONLY, Rules, heading_category,
                                   link_block_is_cruft, load_rules, majority_category, text_category,
                                   weak_match)

logger = logging.getLogger(__name__)



# --------------------------------------------------------------------------- DOM layer

CONTAINER_TAGS = {"div", "section", "aside", "ul", "ol", "p", "figure", "nav", "footer", "header",
                  "span", "table", "blockquote", "li", "dl", "center", "form", "iframe"}
# Tags judged by their text and links only, never by class/id or link density.
INLINE_BLOCK_TAGS = ("p", "li", "span", "blockquote")
# Tokens of class/id attributes that name a kind of cruft block.
ATTR_TOKENS = {
    "advertisement": {"ad", "ads", "advert", "advertisement", "adslot", "ad-slot", "adunit", "dfp", "gpt",
                      "sponsored", "taboola", "outbrain", "mgid", "colombia", "adsbygoogle"},
    "share-bar": {"share", "shares", "sharing", "sharebar", "share-bar", "social-share", "sharethis",
                  "addthis", "share-buttons", "social-icons"},
    "newsletter": {"newsletter", "subscribe", "subscription", "signup", "sign-up", "optin"},
    "related-list": {"related", "also-read", "alsoread", "read-more", "readmore", "recommended",
                     "more-stories", "more-news", "you-may-like", "read-also", "related-posts",
                     "related-news", "related-articles"},
    "latest-list": {"latest", "trending", "popular", "most-read", "mostread", "top-stories", "latest-news",
                    "trending-news", "most-popular", "widget"},
    "cookie-consent": {"cookie", "cookies", "consent", "gdpr", "cmp"},
    "comment-prompt": {"comments", "comment", "disqus", "comment-form", "respond"},
    "follow-us": {"follow-us", "followus", "social-follow", "follow"},
    "app-promo": {"app-promo", "app-download", "download-app", "appbanner", "app-banner"},
}
_TOKEN_SPLIT = re.compile(r"[\s_]+")
STORE_BADGE = re.compile(r"app[\s_-]?store|google[\s_-]?play|play[\s_-]?store|get[\s_-]?it[\s_-]?on|"
                         r"download[\s_-]?on[\s_-]?the|appgallery", re.I)
# Longest block (collapsed characters) the DOM rules judge at all: beyond it, a block is
# a container of the story.
DOM_MAX_CHARS = 1500
AUDIT_MAX_CHARS = 300


# Each token's category, the first in ATTR_TOKENS that names it, with that order's rank
# (the order decides between the categories of several tokens).
_TOKEN_CATEGORY: dict[str, tuple[int, str]] = {}
for _rank, (_category, _names) in enumerate(ATTR_TOKENS.items()):
    for _name in _names:
        _TOKEN_CATEGORY.setdefault(_name, (_rank, _category))


@lru_cache(maxsize=4096)
def _category_of_attrs(raw: str) -> str | None:
    """The category the tokens of a (lower-cased) class and id name, or None. A token
    names one as a whole and by its "-" parts: "related-posts-widget" names a related
    list as well as "related-posts" does."""
    found = None
    for token in _TOKEN_SPLIT.split(raw):
        for name in (token, *token.split("-")) if "-" in token else (token,):
            hit = _TOKEN_CATEGORY.get(name)
            if hit is not None and (found is None or hit < found):
                found = hit
    return found[1] if found is not None else None


def _attr_category(el) -> str | None:
    cls, id_ = el.get("class"), el.get("id")
    if not cls and not id_:
        return None
    return _category_of_attrs(f"{cls or ''} {id_ or ''}".lower())


def _collapse(text: str) -> str:
    return " ".join((text or "").split())


def _is_badge(img) -> bool:
    return bool(STORE_BADGE.search(f"{img.get('alt', '')} {img.get('src', '')}"))


class DomFigures:
    """The link, paragraph, badge and form figures of a subtree. Most elements have none
    (None in their entry); an element with one child that has figures shares that child's,
    and copies them only to add to them."""

    __slots__ = ("link_chars", "links", "hits", "paragraphs", "badges", "has_email_input", "has_textarea")

    def __init__(self, link_chars: int = 0, links: int = 0, hits: Counter | None = None, paragraphs: int = 0,
                 badges: int = 0, has_email_input: bool = False, has_textarea: bool = False):
        self.link_chars, self.links, self.paragraphs, self.badges = link_chars, links, paragraphs, badges
        self.hits = hits  # links by category, when any matched
        self.has_email_input, self.has_textarea = has_email_input, has_textarea

    def copy(self) -> "DomFigures":
        new = DomFigures()
        new.add(self)
        return new

    def add(self, other: "DomFigures") -> None:
        self.link_chars += other.link_chars
        self.links += other.links
        self.paragraphs += other.paragraphs
        self.badges += other.badges
        self.has_email_input = self.has_email_input or other.has_email_input
        self.has_textarea = self.has_textarea or other.has_textarea
        if other.hits:
            if self.hits is None:
                self.hits = Counter()
            self.hits.update(other.hits)


NO_FIGURES = DomFigures()


# What the walk over the page records for each element, as a plain tuple (an entry per
# element of every page; plain tuples of plain values are the cheapest objects to make
# and the garbage collector stops tracking them):
#   (chars, lead, trail, text, figures, index, end)
# `chars` is the length of the element's text with whitespace collapsed and stripped
# (as `_collapse(el.text_content())`), exact up to CHARS_EXACT_UP_TO and beyond it only
# known to be larger; `lead`/`trail` say whether that text starts or ends with
# whitespace, so that a parent's length follows from its children's. `text` is that
# text itself for blocks short enough for the rules to read (at most DOM_MAX_CHARS),
# built from the children's, so that no element's subtree is walked again to judge it;
# None for longer ones. `figures` is a DomFigures or None, kept for those short blocks
# only (`judge` reads no figures of a longer one); `index` is the element's position in
# document order (for the audit) and `end` that of the last element it holds (itself
# when none), so that a walk in document order can step over a whole subtree.
CHARS, TEXT, FIGURES, INDEX, END = 0, 3, 4, 5, 6
# No rule reads an exact length past DOM_MAX_CHARS but the page's own, which is only
# compared with twice the length of a block the rules judge (the "wrapper" test in
# `preclean_dom`): lengths past this one need not be exact. So the walk collapses
# no more of a long text (an inline script, often tens of kilobytes) than it takes
# to pass it.
CHARS_EXACT_UP_TO = 2 * DOM_MAX_CHARS


def _collapse_piece(s: str) -> str:
    """" ".join(s.split()), or for a piece too long for an exact length to matter, the
    collapsed text of enough of its start to be longer than CHARS_EXACT_UP_TO."""
    if len(s) > 2 * CHARS_EXACT_UP_TO:
        start = " ".join(s[:2 * CHARS_EXACT_UP_TO].split())
        if len(start) > CHARS_EXACT_UP_TO:
            return start
    return " ".join(s.split())


_ELEMENTS = lxml.etree.Element


def dom_blocks(root, rules: Rules) -> dict:
    """The entry of every element under (and including) `root`."""
    return page_entries(root, rules)[1]


def page_entries(root, rules: Rules) -> tuple[list, dict]:
    """The elements under (and including) `root` in document order, and the entry of
    each, computed children before parents.

    The collapsed text is followed as (chars, lead, trail, text): each raw piece (an
    element's text, a child's tail) or child's text joins with one space when either side
    of the seam has whitespace, as " ".join(whole.split()) would. The text is dropped
    (None) once it is longer than DOM_MAX_CHARS, and so are the figures: no rule reads
    a longer block's. Written as one loop that calls helpers only for the few elements
    that add figures (links, paragraphs, badges, form fields): it runs for every element
    of every page."""
    order = list(root.iter(_ELEMENTS))  # elements only: no comments or processing instructions
    info: dict = {}
    get = info.get
    limit = DOM_MAX_CHARS
    for index in range(len(order) - 1, -1, -1):
        el = order[index]
        chars, lead, trail, text, figures, shared, end = 0, False, False, "", None, False, index
        s = el.text
        if s:
            if s.isspace():
                lead = trail = True
            else:
                text = _collapse_piece(s)
                chars = len(text)
                lead, trail = s[0].isspace(), s[-1].isspace()
        for child in el:
            c = get(child)
            if c is not None:  # not a comment or a processing instruction
                n, clead, ctrail, ctext, cfigures, _, end = c
                if n:
                    if chars:
                        if trail or clead:
                            chars += n + 1
                            if text is not None:
                                text = None if chars > limit else f"{text} {ctext}"
                        else:
                            chars += n
                            if text is not None:
                                text = None if chars > limit else text + ctext
                    else:
                        chars, text = n, ctext
                        lead = lead or clead
                    trail = ctrail
                elif clead:
                    trail = True
                    if not chars:
                        lead = True
                if cfigures is not None and chars <= limit:
                    if figures is None:
                        figures, shared = cfigures, True
                    else:
                        if shared:
                            figures, shared = figures.copy(), False
                        figures.add(cfigures)
            s = child.tail
            if s:
                if s.isspace():
                    trail = True
                    if not chars:
                        lead = True
                else:
                    piece = _collapse_piece(s)
                    if chars:
                        if trail or s[0].isspace():
                            chars += len(piece) + 1
                            if text is not None:
                                text = None if chars > limit else f"{text} {piece}"
                        else:
                            chars += len(piece)
                            if text is not None:
                                text = None if chars > limit else text + piece
                    else:
                        chars, text = len(piece), piece
                        lead = lead or s[0].isspace()
                    trail = s[-1].isspace()
        if chars > limit:
            info[el] = (chars, lead, trail, None, None, index, end)
            continue
        tag = el.tag
        if tag in _FIGURE_TAGS:
            own = _own_figures(el, tag, chars, rules)
            if own is not None:
                if figures is None:
                    figures = own
                else:
                    if shared:
                        figures = figures.copy()
                    figures.add(own)
        info[el] = (chars, lead, trail, text, figures, index, end)
    return order, info


_FIGURE_TAGS = frozenset(("a", "p", "img", "input", "textarea"))


def _own_figures(el, tag: str, chars: int, rules: Rules) -> DomFigures | None:
    """The figures an element adds by what it is (a link, a story paragraph, a store
    badge, a form field), or None. Shared objects: figures are never changed once an
    element's entry holds them (`dom_blocks` copies before adding)."""
    if tag == "a":
        href = el.get("href")
        if not href:
            return _link_figures(chars, 0, None) if chars else None
        return _link_figures(chars, 1, rules.href_category(href))
    if tag == "p":
        return _STORY_PARAGRAPH if chars > STORY_PARAGRAPH_CHARS else None
    if tag == "img":
        return _BADGE if _is_badge(el) else None
    if tag == "input":
        if (el.get("type") or "").lower() == "email" or "mail" in (el.get("name") or "").lower():
            return _EMAIL_INPUT
        return None
    return _TEXTAREA


_STORY_PARAGRAPH = DomFigures(paragraphs=1)
_BADGE = DomFigures(badges=1)
_EMAIL_INPUT = DomFigures(has_email_input=True)
_TEXTAREA = DomFigures(has_textarea=True)


@lru_cache(maxsize=4096)
def _link_figures(chars: int, links: int, category: str | None) -> DomFigures:
    return DomFigures(link_chars=chars, links=links, hits=Counter({category: 1}) if category else None)


def judge(el, entry: tuple, rules: Rules, info: dict | None = None) -> str | None:
    """Why this element (with its entry from `dom_blocks`) is cruft, or None. Decided on
    the block as a whole: where its links go, how much of its text is links, form
    fields, store badges, its class/id, and, for short blocks, its words. `info` (the
    page's entries) saves walking the subtree again for its first text."""
    chars, _, _, text, figures, _, _ = entry
    f = figures or NO_FIGURES
    # A block holding several real paragraphs is a container of the story, not cruft,
    # unless it is an announced list of teaser cards (`_announced_card_list`).
    if f.paragraphs >= 2 or chars > DOM_MAX_CHARS:
        return _announced_card_list(el, chars, rules, info)
    # From here on the entry carries the block's text (short blocks keep theirs).
    if f.has_email_input:
        return "newsletter"
    if f.has_textarea:
        return "comment-prompt"
    own_chars = chars - f.link_chars  # text that is not link text
    if f.badges and own_chars < 400:
        return "app-promo"
    if f.hits:
        by_link = majority_category(f.hits, f.links)
        if by_link and link_block_is_cruft(text, own_chars, by_link, rules):
            return by_link
    if chars:
        by_text = text_category(text, rules, whole_block=False)
        if by_text:
            return by_text
        if text[0] in "hHwW" and URL_ONLY.match(text):
            return "bare-url"
    if el.tag in INLINE_BLOCK_TAGS:
        return None
    by_attr = _attr_category(el)
    if by_attr in ("advertisement", "cookie-consent", "share-bar", "follow-us", "newsletter", "app-promo") \
            and chars < 300:
        return by_attr
    if f.links >= 2 and f.link_chars >= 0.5 * max(chars, 1):
        # A list of links introduced by "Related" / "Latest News" or named so in its class.
        first = _first_text(el, info)
        announced = heading_category(first, rules) if first else None
        if announced:
            return announced
        if by_attr in ("related-list", "latest-list"):
            return by_attr
    if by_attr == "comment-prompt" and chars < 300:
        return by_attr
    return None


# The share of an announced list's text that its links must hold.
CARD_LIST_LINK_SHARE = 0.8


def _announced_card_list(el, chars: int, rules: Rules, info: dict | None) -> str | None:
    """A list announced by its first text ("You might also like", "Latest News") whose
    text is nearly all link text: teaser cards, each a link holding a headline and a
    paragraph or two. Such a list runs past DOM_MAX_CHARS and holds long "paragraphs",
    which would otherwise protect it as a container of the story; but a story's own
    paragraphs are not link text. Walked only for the rare block so announced."""
    if el.tag in INLINE_BLOCK_TAGS:
        return None
    first = _first_text(el, info)
    category = heading_category(first, rules) if first and len(first) <= DOM_MAX_CHARS else None
    if category not in LIST_CATEGORIES:
        return None
    link_chars = sum(len(_collapse(a.text_content())) for a in el.iter("a"))
    return category if link_chars + len(first) >= CARD_LIST_LINK_SHARE * chars else None


def _first_text(el, info: dict | None = None) -> str:
    """The collapsed text of the first node under `el` (itself by its own text only) that
    has any; from the nodes' entries in `info` where they carry it."""
    for node in el.iter():
        if node is el:
            if el.text and el.text.strip():
                return _collapse(el.text)
            continue
        entry = info.get(node) if info is not None else None
        text = entry[TEXT] if entry is not None and entry[TEXT] is not None else _collapse(node.text_content())
        if text:
            return text
    return ""


@lru_cache(maxsize=1024)
def _css_selector(selector: str):
    """A drop selector compiled once (to XPath), not on every page, as `tree.cssselect` would."""
    from lxml.cssselect import CSSSelector

    return CSSSelector(selector, translator="html")


def _outlet_selectors(tree, outlet, audit: list) -> Counter:
    removed: Counter = Counter()
    for selector in getattr(outlet, "drop_selectors", ()) or ():
        try:
            found = _css_selector(selector)(tree)
        except Exception as exc:  # a malformed selector must not stop the crawl
            logger.warning("outlet %s: bad drop selector %r: %s", getattr(outlet, "name", "?"), selector, exc)
            continue
        for el in found:
            if el.getparent() is not None:
                audit.append((-1, "outlet-selector", _collapse(el.text_content())))
                el.drop_tree()
                removed["outlet-selector"] += 1
    return removed


PROTECTED_TAGS = {"html", "body", "article", "main", "h1"}
JUDGED_TAGS = frozenset(CONTAINER_TAGS - PROTECTED_TAGS)
# Never judged, nor anything inside them.
UNREAD_TAGS = frozenset(("script", "style", "noscript", "template"))


class DomRemovals(Counter):
    """Counts of removed DOM blocks by category, plus `texts`: each removed block's
    category and text (capped at AUDIT_MAX_CHARS), in page order, for the audit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.texts: list[dict] = []


def audit_entry(category: str, text: str) -> dict:
    text = text if len(text) <= AUDIT_MAX_CHARS else text[:AUDIT_MAX_CHARS - 1] + "…"
    return {"category": category, "text": text}


def preclean_dom(tree, outlet) -> DomRemovals:
    """Removes cruft from the parsed page before body extraction: the outlet's drop
    selectors, then the generic DOM rules. Mutates `tree`; returns counts by category
    (with the removed texts in `.texts`)."""
    rules = load_rules()
    audit: list[tuple[int, str, str]] = []  # (document position, category, text)
    removed = DomRemovals(_outlet_selectors(tree, outlet, audit))
    body = tree.find(".//body")
    root = body if body is not None else tree
    order, info = page_entries(root, rules)
    # Never judge a block that holds most of the page: it is a wrapper.
    half = 0.5 * (info[root][CHARS] or 1)
    # Elements are judged in document order, each before what it holds, and the blocks
    # found to be cruft are removed once all are judged: every entry is exact when its
    # element is judged, and nothing inside a block found to be cruft is judged.
    found: list = []  # (element, entry, category), in document order
    index, count = 1, len(order)  # order[0] is the root, never judged
    while index < count:
        el = order[index]
        entry = info[el]
        tag = el.tag.lower()
        if tag in JUDGED_TAGS:
            category = judge(el, entry, rules, info) if entry[CHARS] < half or tag in ("p", "li") else None
        elif tag == "img":
            figures = entry[FIGURES]
            category = "app-promo" if figures is not None and figures.badges else None
        elif tag in UNREAD_TAGS:
            index = entry[END] + 1
            continue
        else:
            category = None
        if category:
            found.append((el, entry, category))
            index = entry[END] + 1
        else:
            index += 1
    # Removed from the last back, so that each records the neighbours it has once the
    # blocks after it are gone, which `_drop_weak_neighbours` then reads.
    dropped: list = []
    for el, entry, category in reversed(found):
        if el.tag.lower() == "img":
            text = _collapse(el.get("alt") or el.get("src") or "")
        else:  # a block past DOM_MAX_CHARS carries no text in its entry
            text = entry[TEXT] if entry[TEXT] is not None else _collapse(el.text_content())[:AUDIT_MAX_CHARS]
        audit.append((entry[INDEX], category, text))
        dropped.append((el.getprevious(), el.getnext(), category))
        el.drop_tree()
        removed[category] += 1
    removed.update(_drop_weak_neighbours(dropped, rules, info, audit))
    audit.sort(key=lambda entry: entry[0])
    removed.texts = [audit_entry(category, text) for _, category, text in audit]
    return removed


def _drop_weak_neighbours(dropped: list, rules: Rules, info: dict, audit: list) -> Counter:
    """Siblings of removed blocks that carry a weak phrasing of the same category (the
    promo sentence above the store links) go too, in a chain."""
    removed: Counter = Counter()
    while dropped:
        prev, nxt, category = dropped.pop()
        if rules.text.get(category) is None or rules.text[category].weak_re is None:
            continue  # the category has no weak phrasing to look for in the neighbours
        for sib, step in ((prev, "getprevious"), (nxt, "getnext")):
            if sib is None or not isinstance(sib.tag, str) or sib.getparent() is None:
                continue
            if sib.tag.lower() not in CONTAINER_TAGS or sib.tag.lower() in PROTECTED_TAGS:
                continue
            text = _collapse(sib.text_content())
            if weak_match({"text": text}, category, rules):
                further = getattr(sib, step)()
                audit.append((info[sib][INDEX] if sib in info else len(info), category, text))
                sib.drop_tree()
                removed[category] += 1
                dropped.append((further, None, category) if step == "getprevious" else (None, further, category))
    return removed


