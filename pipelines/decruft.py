"""Decruft stage: removes what the extractor keeps but is not the article.

Three layers, each counting what it removed by category:

1. outlet rules: `Outlet.drop_selectors` (DOM, before extraction) and
   `Outlet.drop_patterns` (text, after);
2. generic rules (`pipelines/rules/*.toml`): DOM blocks whose links go to app stores,
   social profiles or share intents, forms, store badges, link-dense "related" and
   "latest" lists, ad slots; then text rules on the extracted blocks in English, Urdu
   and Hindi;
3. learned per-outlet boilerplate (`BoilerplateLearner`): blocks that recur across
   many of an outlet's pages, with counts kept in the state store across runs.

`preclean_dom` and `clean_blocks` are pure functions of their input, so they can run in
a process pool; only the learner and the pipeline class touch shared state.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

RULES_DIR = Path(__file__).parent / "rules"

CATEGORIES = (
    "app-promo", "newsletter", "follow-us", "share-bar", "also-read", "related-list", "donation",
    "cookie-consent", "syndication", "advertisement", "latest-list", "bare-url", "comment-prompt",
    "outlet-selector", "outlet-pattern", "learned-boilerplate", "dangling-heading", "title-repeat",
)
# Categories that announce a list of links: the link-dense blocks after them go too.
LIST_CATEGORIES = {"also-read", "related-list", "latest-list"}
# Weak phrasings ("download … app") only count in blocks this short: a promo line, not a
# story paragraph that happens to sit beside the store links.
WEAK_MAX_CHARS = 240
# Own (non-link) characters below which a block of store or social links is just links.
LINK_ONLY_OWN_CHARS = 120


# --------------------------------------------------------------------------- text folding

_JOINERS = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Arabic-script letters that Urdu pages write either way; Devanagari nukta (dropped so
# that ज़/ज and ढ़/ढ spellings meet).
_FOLD = str.maketrans({"\u064a": "\u06cc", "\u0649": "\u06cc", "\u0643": "\u06a9", "\u0647": "\u06c1",
                       "\u093c": None, "\u2019": "'", "\u2018": "'"})
_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_PUNCT = re.compile(r"[^\w\s]")


def fold(text: str) -> str:
    """Text as the rules see it: NFKD-stable, joiners dropped, script variants folded,
    lower case, one space between words."""
    text = unicodedata.normalize("NFKD", text).translate(_JOINERS)
    text = unicodedata.normalize("NFC", text).translate(_FOLD)
    return _SPACE.sub(" ", text).strip().casefold()


# --------------------------------------------------------------------------- rules


@dataclass
class CategoryRules:
    max_chars: int = 300
    strong: list[re.Pattern] = field(default_factory=list)
    weak: list[re.Pattern] = field(default_factory=list)
    heading: list[re.Pattern] = field(default_factory=list)


@dataclass
class HostRules:
    hosts: set[str] = field(default_factory=set)
    prefixes: tuple[str, ...] = ()
    schemes: tuple[str, ...] = ()

    def matches(self, href: str) -> bool:
        href, host, location = _href_parts(href)
        if href.startswith(self.schemes or ("\x00",)):
            return True
        if not host:
            return False
        if self.prefixes and location.startswith(self.prefixes):
            return True
        # The host or one of its parent domains is listed.
        while True:
            if host in self.hosts:
                return True
            dot = host.find(".")
            if dot < 0:
                return False
            host = host[dot + 1:]


@lru_cache(maxsize=8192)
def _href_parts(href: str) -> tuple[str, str, str]:
    """A link as the host rules see it: (lower-cased href, bare host, host + path + query).
    Cached: a page's share and store links recur in every block around them, and across
    an outlet's pages."""
    href = (href or "").strip().lower()
    parts = urlsplit(href if "//" in href else "//" + href)
    host = (parts.hostname or "").removeprefix("www.").removeprefix("m.")
    return href, host, host + parts.path + ("?" + parts.query if parts.query else "")


@dataclass
class Rules:
    text: dict[str, CategoryRules]
    links: dict[str, HostRules]


def _compile(pattern: str, source: str) -> re.Pattern:
    try:
        return re.compile(fold(pattern))
    except re.error as exc:
        raise ValueError(f"{source}: bad pattern {pattern!r}: {exc}") from exc


@lru_cache(maxsize=4)
def load_rules(directory: Path = RULES_DIR) -> Rules:
    """Every language file's rules merged by category (a page's declared language is too
    often wrong to choose by it), plus the link-host rules."""
    text: dict[str, CategoryRules] = {}
    links: dict[str, HostRules] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for category, spec in data.items():
            if category not in CATEGORIES:
                raise ValueError(f"{path}: unknown category {category!r}")
            if path.stem == "hosts":
                links[category] = HostRules(
                    set(spec.get("hosts", ())), tuple(spec.get("prefixes", ())), tuple(spec.get("schemes", ()))
                )
                continue
            rules = text.setdefault(category, CategoryRules())
            rules.max_chars = max(rules.max_chars if rules.strong else 0, int(spec.get("max_chars", 300)))
            for kind in ("strong", "weak", "heading"):
                getattr(rules, kind).extend(_compile(p, str(path)) for p in spec.get(kind, ()))
    return Rules(text, links)


_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")
# id of a pattern list -> (the list, its length, the joined pattern or None)
_ONE_PATTERN_CACHE: dict[int, tuple[list, int, re.Pattern | None]] = {}


def _one_pattern(patterns: list[re.Pattern]) -> re.Pattern | None:
    """The patterns as one alternation (one scan of the text instead of one per pattern),
    or None where joining them could change what matches (back-references, flags)."""
    cached = _ONE_PATTERN_CACHE.get(id(patterns))
    if cached is not None and cached[0] is patterns and cached[1] == len(patterns):
        return cached[2]
    joined = None
    if not any(_BACKREFERENCE.search(p.pattern) or p.flags & ~re.UNICODE for p in patterns):
        try:
            joined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns))
        except re.error:
            joined = None
    _ONE_PATTERN_CACHE[id(patterns)] = (patterns, len(patterns), joined)
    return joined


def _any(patterns, text: str) -> bool:
    if not patterns:
        return False
    joined = _one_pattern(patterns)
    if joined is not None:
        return joined.search(text) is not None
    return any(p.search(text) for p in patterns)


def text_category(text: str, rules: Rules | None = None) -> str | None:
    """The category of a block by its words alone (strong patterns), or None."""
    rules = rules or load_rules()
    folded = fold(text)
    for category, cat in rules.text.items():
        if len(folded) <= cat.max_chars and _any(cat.strong, folded):
            return category
    return None


def heading_category(text: str, rules: Rules | None = None) -> str | None:
    """The list category a short heading announces ("Latest News", "یہ بھی پڑھیں"), or None."""
    rules = rules or load_rules()
    folded = fold(text)
    if len(folded) > 80:
        return None
    for category, cat in rules.text.items():
        if _any(cat.heading, folded):
            return category
    return None


def link_category(links: list[str], rules: Rules | None = None) -> str | None:
    """The category most of a block's links point at (app stores, social profiles, share
    intents, donation platforms), when at least half of them do."""
    rules = rules or load_rules()
    if not links:
        return None
    hits: Counter = Counter()
    for href in links:
        # Share intents first: facebook.com/sharer is a share button, not a profile.
        for category in ("share-bar", "app-promo", "donation", "follow-us"):
            host_rules = rules.links.get(category)
            if host_rules and host_rules.matches(href):
                hits[category] += 1
                break
    if not hits:
        return None
    category, n = hits.most_common(1)[0]
    return category if sum(hits.values()) * 2 >= len(links) else None


# --------------------------------------------------------------------------- DOM layer

URL_ONLY = re.compile(r"^(?:(?:https?://|www\.)\S+[\s,;|–—-]*)+$", re.I)
CONTAINER_TAGS = {"div", "section", "aside", "ul", "ol", "p", "figure", "nav", "footer", "header",
                  "span", "table", "blockquote", "li", "dl", "center", "form", "iframe"}
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


def _attr_tokens(el) -> set[str]:
    raw = f"{el.get('class', '')} {el.get('id', '')}".lower()
    tokens = set(_TOKEN_SPLIT.split(raw)) - {""}
    # "related-posts-widget" names a related list as well as the whole token does.
    parts = {p for t in tokens for p in t.split("-")}
    return tokens | parts


def _attr_category(el) -> str | None:
    tokens = _attr_tokens(el)
    for category, names in ATTR_TOKENS.items():
        if tokens & names:
            return category
    return None


def _collapse(text: str) -> str:
    # str.split() splits on exactly what \s matches, and faster than _SPACE.sub.
    return " ".join((text or "").split())


@dataclass
class DomBlock:
    text: str
    links: list[str]
    link_chars: int
    has_email_input: bool
    has_textarea: bool
    badges: int


def _holds_story(el, text: str) -> bool:
    """A block holding several real paragraphs (or a long text) is a container of the
    story, not cruft. Checked first, and stops at the second paragraph: most containers
    of a page are decided here without looking at their links and words."""
    if len(text) > 1500:
        return True
    found = 0
    for p in el.iter("p"):
        if len(_collapse(p.text_content())) > 120:
            found += 1
            if found >= 2:
                return True
    return False


def _dom_block(el, text: str | None = None) -> DomBlock:
    text = _collapse(el.text_content()) if text is None else text
    anchors = [a for a in el.iter("a")]
    links = [a.get("href", "") for a in anchors if a.get("href")]
    link_chars = sum(len(_collapse(a.text_content())) for a in anchors)
    inputs = el.xpath(".//input")
    return DomBlock(
        text=text,
        links=links,
        link_chars=link_chars,
        has_email_input=any((i.get("type") or "").lower() == "email" or "mail" in (i.get("name") or "").lower()
                            for i in inputs),
        has_textarea=bool(el.xpath(".//textarea")),
        badges=sum(1 for img in el.iter("img") if STORE_BADGE.search(f"{img.get('alt', '')} {img.get('src', '')}")),
    )


def dom_category(el, rules: Rules | None = None, text: str | None = None) -> str | None:
    """Why this element is cruft, or None. Decided on the block as a whole: where its links
    go, how much of its text is links, form fields, store badges, its class/id, and,
    for short blocks, its words. `text` is the element's collapsed text, when the caller
    has it already."""
    rules = rules or load_rules()
    text = _collapse(el.text_content()) if text is None else text
    if _holds_story(el, text):
        return None
    b = _dom_block(el, text)
    own_chars = len(b.text) - b.link_chars  # text that is not link text
    if el.tag == "form" or b.has_email_input or b.has_textarea:
        if b.has_email_input:
            return "newsletter"
        if b.has_textarea:
            return "comment-prompt"
    if b.badges and own_chars < 400:
        return "app-promo"
    by_link = link_category(b.links, rules)
    if by_link and _link_block_is_cruft(b.text, own_chars, by_link, rules):
        return by_link
    by_text = text_category(b.text, rules) if b.text else None
    if by_text:
        return by_text
    if b.text and URL_ONLY.match(b.text):
        return "bare-url"
    if el.tag in ("p", "li", "span", "blockquote"):
        return None
    density = b.link_chars / max(len(b.text), 1)
    by_attr = _attr_category(el)
    if by_attr in ("advertisement", "cookie-consent") and len(b.text) < 300:
        return by_attr
    if by_attr in ("share-bar", "follow-us", "newsletter", "app-promo") and len(b.text) < 300:
        return by_attr
    if len(b.links) >= 2 and density >= 0.5:
        # A list of links introduced by "Related" / "Latest News" or named so in its class.
        first = _first_text(el)
        announced = heading_category(first, rules) if first else None
        if announced:
            return announced
        if by_attr in ("related-list", "latest-list"):
            return by_attr
    if by_attr == "comment-prompt" and len(b.text) < 300:
        return by_attr
    return None


def _first_text(el) -> str:
    for node in el.iter():
        if node is el:
            if el.text and el.text.strip():
                return _collapse(el.text)
            continue
        text = _collapse(node.text_content())
        if text:
            return text
    return ""


def _outlet_selectors(tree, outlet) -> Counter:
    removed: Counter = Counter()
    for selector in getattr(outlet, "drop_selectors", ()) or ():
        try:
            found = tree.cssselect(selector)
        except Exception as exc:  # a malformed selector must not stop the crawl
            logger.warning("outlet %s: bad drop selector %r: %s", getattr(outlet, "name", "?"), selector, exc)
            continue
        for el in found:
            if el.getparent() is not None:
                el.drop_tree()
                removed["outlet-selector"] += 1
    return removed


PROTECTED_TAGS = {"html", "body", "article", "main", "h1"}


def preclean_dom(tree, outlet) -> Counter:
    """Removes cruft from the parsed page before body extraction: the outlet's drop
    selectors, then the generic DOM rules. Mutates `tree`; returns counts by category."""
    rules = load_rules()
    removed = _outlet_selectors(tree, outlet)
    body = tree.find(".//body")
    root = body if body is not None else tree
    total_chars = len(_collapse(root.text_content())) or 1
    stack = list(root)
    dropped: list = []
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag in ("script", "style", "noscript", "template"):
            continue
        category = None
        if tag == "img":
            if STORE_BADGE.search(f"{el.get('alt', '')} {el.get('src', '')}"):
                category = "app-promo"
        elif tag in CONTAINER_TAGS and tag not in PROTECTED_TAGS:
            # Never judge a block that holds most of the page: it is a wrapper.
            text = _collapse(el.text_content())
            if len(text) < 0.5 * total_chars or tag in ("p", "li"):
                category = dom_category(el, rules, text)
        if category:
            if el.getparent() is not None:
                dropped.append((el.getprevious(), el.getnext(), category))
                el.drop_tree()
                removed[category] += 1
            continue
        stack.extend(el)
    removed.update(_drop_weak_neighbours(dropped, rules))
    return removed


def _drop_weak_neighbours(dropped: list, rules: Rules) -> Counter:
    """Siblings of removed blocks that carry a weak phrasing of the same category (the
    promo sentence above the store links) go too, in a chain."""
    removed: Counter = Counter()
    while dropped:
        prev, nxt, category = dropped.pop()
        for sib, step in ((prev, "getprevious"), (nxt, "getnext")):
            if sib is None or not isinstance(sib.tag, str) or sib.getparent() is None:
                continue
            if sib.tag.lower() not in CONTAINER_TAGS or sib.tag.lower() in PROTECTED_TAGS:
                continue
            if _weak_match({"text": _collapse(sib.text_content())}, category, rules):
                further = getattr(sib, step)()
                sib.drop_tree()
                removed[category] += 1
                dropped.append((further, None, category) if step == "getprevious" else (None, further, category))
    return removed


# --------------------------------------------------------------------------- text layer


def _density(block: dict) -> float:
    return block.get("link_chars", 0) / max(len(block.get("text", "")), 1)


def _outlet_patterns(outlet) -> list[re.Pattern]:
    out = []
    for pattern in getattr(outlet, "drop_patterns", ()) or ():
        try:
            out.append(re.compile(pattern, re.I))
        except re.error as exc:
            logger.warning("outlet %s: bad drop pattern %r: %s", getattr(outlet, "name", "?"), pattern, exc)
    return out


def block_category(block: dict, patterns: list[re.Pattern], rules: Rules) -> str | None:
    """Why one extracted block is cruft on its own, or None."""
    text = block.get("text", "")
    if any(p.search(text) for p in patterns):
        return "outlet-pattern"
    if URL_ONLY.match(text.strip()):
        return "bare-url"
    own_chars = len(text) - block.get("link_chars", 0)
    by_link = link_category(block.get("links") or [], rules)
    if by_link and _link_block_is_cruft(text, own_chars, by_link, rules):
        return by_link
    return text_category(text, rules)


def _weak_match(block: dict, category: str, rules: Rules) -> bool:
    cat = rules.text.get(category)
    if not cat or not cat.weak:
        return False
    folded = fold(block.get("text", ""))
    return len(folded) <= min(cat.max_chars, WEAK_MAX_CHARS) and _any(cat.weak, folded)


def _link_block_is_cruft(text: str, own_chars: int, category: str, rules: Rules) -> bool:
    """A block whose links go mostly to stores or social profiles is cruft when it has
    next to no text of its own, or a little text that also reads like the category. A
    story paragraph that links the App Store once has plenty of its own words."""
    if own_chars < LINK_ONLY_OWN_CHARS:
        return True
    return own_chars < 400 and (_weak_match({"text": text}, category, rules) or text_category(text, rules) == category)


def clean_blocks(blocks: list[dict], outlet) -> tuple[list[dict], Counter]:
    """Removes cruft blocks from the extracted body. Returns the kept blocks (in order)
    and counts of removed blocks by category. Each removed block is also marked with
    `_removed` = category in the input list, for auditing."""
    rules = load_rules()
    patterns = _outlet_patterns(outlet)
    cats: list[str | None] = [block_category(b, patterns, rules) for b in blocks]
    n = len(blocks)

    # A link-dense run after a list announcement ("Also read", "Latest News") is the list.
    for i in range(n):
        if cats[i] is None and blocks[i].get("kind") in ("h", "p") and heading_category(blocks[i]["text"], rules):
            cats[i] = heading_category(blocks[i]["text"], rules)
        if cats[i] in LIST_CATEGORIES:
            j = i + 1
            while j < n and cats[j] is None and _density(blocks[j]) >= 0.6 and len(blocks[j]["text"]) <= 250:
                cats[j] = "related-list" if cats[i] == "also-read" else cats[i]
                j += 1

    # Weak phrasings go only beside a block removed for the same reason: the sentence
    # "Download our app for news the way you like" next to the store links.
    changed = True
    while changed:
        changed = False
        for i in range(n):
            if cats[i] is not None:
                continue
            for j in (i - 1, i + 1):
                if 0 <= j < n and cats[j] and _weak_match(blocks[i], cats[j], rules):
                    cats[i] = cats[j]
                    changed = True
                    break

    # Headings left with nothing under them: every block up to the next heading (or the
    # end) was removed, or there is no block after them at all.
    for i in range(n):
        if cats[i] is not None or blocks[i].get("kind") != "h":
            continue
        j = i + 1
        section = []
        while j < n and blocks[j].get("kind") != "h":
            section.append(cats[j])
            j += 1
        at_end = j == n
        if (section and all(section)) or (not section and at_end):
            cats[i] = section[0] if section else "dangling-heading"

    kept, removed = [], Counter()
    for block, category in zip(blocks, cats):
        if category:
            removed[category] += 1
            block["_removed"] = category
        else:
            kept.append(block)
    return kept, removed


def drop_title_repeat(blocks: list[dict], title: str | None) -> tuple[list[dict], Counter]:
    """The headline is a field of its own; a first block that repeats it is not body."""
    removed: Counter = Counter()
    if blocks and title:
        key = _PUNCT.sub("", fold(title)).strip()
        first = blocks[0]
        if key and _PUNCT.sub("", fold(first.get("text", ""))).strip() == key:
            first["_removed"] = "title-repeat"
            removed["title-repeat"] += 1
            return blocks[1:], removed
    return blocks, removed


def pre_learning_clean(item: dict, blocks: list[dict], outlet) -> tuple[list[dict], Counter]:
    """Every rule that needs no learned state: the repeated headline, then `clean_blocks`."""
    kept, removed = drop_title_repeat(blocks, item.get("title"))
    kept, more = clean_blocks(kept, outlet)
    removed.update(more)
    return kept, removed


def blocks_to_text(blocks: list[dict]) -> str:
    return "\n\n".join(b["text"] for b in blocks)


# --------------------------------------------------------------------------- learned layer



def block_key(text: str) -> str:
    """A block's identity across pages: digits and spacing folded, so "Updated 3 hours
    ago" and "Updated 5 hours ago" are one block."""
    folded = _PUNCT.sub("", _DIGITS.sub("0", fold(text)))
    folded = _SPACE.sub(" ", folded).strip()
    return hashlib.blake2b(folded.encode("utf-8"), digest_size=10).hexdigest()


class BoilerplateLearner:
    """Counts, per outlet, on how many distinct pages each block appears, and says which
    blocks are boilerplate.

    A block is boilerplate when it was seen on at least `min_pages` pages AND on at least
    `min_share` of the outlet's pages since it first appeared (so a promotion added last
    week counts as fully as one that has run for years, while a quote shared by two
    stories never qualifies). Counts live in the state store: a cron run starts from
    what the last one learned.
    """

    NS = "boilerplate"

    def __init__(self, store, outlet_name: str, *, min_pages: int = 3, min_share: float = 0.3):
        if min_pages < 3:
            raise ValueError("min_pages must be at least 3: a block on two pages is content")
        self.store = store
        self.outlet = outlet_name
        self.min_pages = min_pages
        self.min_share = min_share
        self.ns = f"{self.NS}:{outlet_name}"

    @property
    def pages(self) -> int:
        return int(self.store.get(self.ns, "pages") or 0)

    def _batch(self):
        batch = getattr(self.store, "batch", None)
        if batch is None:
            from contextlib import nullcontext

            return nullcontext()
        return batch()

    def observe(self, page_id: str, blocks: list[dict]) -> bool:
        """Counts this page's blocks once. Returns False when the page was already counted
        (a re-crawl of the same article must not make its paragraphs look common)."""
        page_key = "p:" + hashlib.blake2b(page_id.encode("utf-8"), digest_size=10).hexdigest()
        if self.store.get(self.ns, page_key) is not None:
            return False
        keys = sorted({block_key(b["text"]) for b in blocks if len(b.get("text", "").strip()) >= 3})
        with self._batch():
            index = self.store.incr(self.ns, "pages")
            self.store.put(self.ns, page_key, str(index))
            first_seen = self.store.get_many(self.ns, [f"f:{k}" for k in keys])
            self.store.put_many(self.ns, [(f"f:{k}", str(index)) for k in keys if f"f:{k}" not in first_seen])
            for k in keys:
                self.store.incr(self.ns, f"c:{k}")
        return True

    def boilerplate_keys(self, blocks: list[dict]) -> set[str]:
        keys = {block_key(b["text"]) for b in blocks if b.get("text")}
        if not keys:
            return set()
        pages = self.pages
        got = self.store.get_many(self.ns, [f"c:{k}" for k in keys] + [f"f:{k}" for k in keys])
        out = set()
        for k in keys:
            count = int(got.get(f"c:{k}", 0))
            if count < self.min_pages:
                continue
            since = pages - int(got.get(f"f:{k}", 1)) + 1
            if count / max(since, 1) >= self.min_share:
                out.add(k)
        return out

    def filter(self, blocks: list[dict]) -> tuple[list[dict], Counter]:
        """The blocks that are not learned boilerplate, and the count removed."""
        bad = self.boilerplate_keys(blocks)
        kept, removed = [], Counter()
        for b in blocks:
            if bad and block_key(b["text"]) in bad:
                removed["learned-boilerplate"] += 1
                b["_removed"] = "learned-boilerplate"
            else:
                kept.append(b)
        return kept, removed


def learner_from_settings(store, outlet_name: str, settings) -> BoilerplateLearner:
    return BoilerplateLearner(
        store, outlet_name,
        min_pages=settings.getint("NEWSCRAWL_BOILERPLATE_MIN_PAGES", 3),
        min_share=settings.getfloat("NEWSCRAWL_BOILERPLATE_MIN_SHARE", 0.3),
    )


# --------------------------------------------------------------------------- pipeline


def _page_id(item: dict) -> str:
    return item.get("canonical_url") or item.get("url") or ""


class DecruftPipeline:
    """Applies the text rules and the learned boilerplate, sets `text`, and records what
    was removed: counts in `cleaning.removed` and in the crawl stats
    (`newscrawl/cruft/<category>`), and with NEWSCRAWL_AUDIT_CRUFT the removed texts in
    `cleaning.removed_text`.

    Until an outlet has NEWSCRAWL_BOILERPLATE_WARMUP pages counted (over all runs), its
    articles are held, so the first ones of a first crawl are cleaned with what the
    warm-up taught. Held articles are released when the warm-up is complete, when the
    crawl has nothing else in flight (fewer articles than the warm-up), when the
    scraper is short of memory, when the spider closes, or after
    NEWSCRAWL_BOILERPLATE_MAX_HOLD seconds: never lost.
    """

    WATCH_INTERVAL = 0.5

    def __init__(self, crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.warmup = settings.getint("NEWSCRAWL_BOILERPLATE_WARMUP", 12)
        self.max_hold = settings.getfloat("NEWSCRAWL_BOILERPLATE_MAX_HOLD", 300.0)
        self.audit = settings.getbool("NEWSCRAWL_AUDIT_CRUFT", False)
        self.store = None
        self.learners: dict[str, BoilerplateLearner] = {}
        self._held: list = []  # Deferreds of held articles, in arrival order
        self._held_since: float | None = None
        self._stalled_ticks = 0
        self._watch = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    # -- state

    def _store(self):
        if self.store is None:
            from newscrawl.state import open_state

            outlet = getattr(self.crawler.spider, "outlet", None)
            self.store = open_state(self.crawler.settings, getattr(outlet, "name", None) or "_global")
        return self.store

    def learner(self, outlet_name: str) -> BoilerplateLearner:
        if outlet_name not in self.learners:
            self.learners[outlet_name] = learner_from_settings(self._store(), outlet_name, self.crawler.settings)
        return self.learners[outlet_name]

    # -- lifecycle

    def open_spider(self, spider=None):
        from scrapy.utils.asyncio import create_looping_call

        self._watch = create_looping_call(self._check_stalled)
        self._watch.start(self.WATCH_INTERVAL, now=False)

    def close_spider(self, spider=None):
        self.release("close")
        if self._watch is not None and self._watch.running:
            self._watch.stop()
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- holding

    def release(self, reason: str) -> None:
        held, self._held = self._held, []
        self._held_since = None
        if held:
            logger.info("decruft: releasing %d held articles (%s)", len(held), reason)
            if self.crawler.stats:
                self.crawler.stats.inc_value(f"newscrawl/cruft_hold/released_{reason}", len(held))
        for d in held:
            if not d.called:
                d.callback(None)

    def _engine_idle_but_held(self) -> bool:
        """True when the only work left in the crawl is the articles held here: nothing
        downloading, nothing scheduled, nothing else in the item pipelines. Scrapy counts
        held items as in flight, so it would never call the spider idle by itself."""
        engine = getattr(self.crawler, "engine", None)
        if engine is None:
            return True
        scraper_slot = getattr(engine.scraper, "slot", None)
        if scraper_slot is None:
            return True
        if scraper_slot.queue or scraper_slot.itemproc_size > len(self._held):
            return False
        if engine.downloader.active:
            return False
        slot = getattr(engine, "_slot", None)
        if slot is not None and slot.scheduler.has_pending_requests():
            return False
        return getattr(engine, "_start", None) is None

    def _check_stalled(self) -> None:
        if not self._held:
            self._stalled_ticks = 0
            return
        engine = getattr(self.crawler, "engine", None)
        scraper_slot = getattr(getattr(engine, "scraper", None), "slot", None)
        try:
            if scraper_slot is not None and scraper_slot.closing is not None:
                return self.release("close")
            if scraper_slot is not None and scraper_slot.needs_backout():
                return self.release("memory")
            if self._held_since is not None and time.monotonic() - self._held_since > self.max_hold:
                return self.release("timeout")
            self._stalled_ticks = self._stalled_ticks + 1 if self._engine_idle_but_held() else 0
            if self._stalled_ticks >= 2:
                self._stalled_ticks = 0
                self.release("idle")
        except Exception:  # engine internals moved: never keep articles hostage
            logger.exception("decruft: hold watchdog failed; releasing held articles")
            self.release("error")

    async def _hold(self) -> None:
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet.defer import Deferred

        d: Deferred = Deferred()
        self._held.append(d)
        if self._held_since is None:
            self._held_since = time.monotonic()
        await maybe_deferred_to_future(d)

    # -- items

    async def process_item(self, item, spider=None):
        outlet = getattr(self.crawler.spider, "outlet", None)
        outlet_name = item.get("outlet") or getattr(outlet, "name", None) or "_global"
        blocks = item.pop("_blocks", None) or []
        done = item.pop("_pre_learning", None)  # the rule-based part, done by a worker
        if done is None:
            kept, removed = pre_learning_clean(item, blocks, outlet)
        else:
            kept, removed = [blocks[i] for i in done["kept"]], Counter(done["removed"])
        learner = self.learner(outlet_name)
        learner.observe(_page_id(item) or str(id(item)), kept)
        if self.warmup > 0 and learner.pages < self.warmup:
            await self._hold()
        elif self._held:
            self.release("warmup")
        kept, learned = learner.filter(kept)
        removed.update(learned)
        return self.finish(item, blocks, kept, removed)

    def finish(self, item: dict, blocks: list[dict], kept: list[dict], removed: Counter) -> dict:
        item = apply_cleaning(item, blocks, kept, removed, audit=self.audit)
        stats = getattr(self.crawler, "stats", None)
        if stats is not None:
            for category, n in item["cleaning"]["removed"].items():
                stats.inc_value(f"newscrawl/cruft/{category}", n)
        return item


def apply_cleaning(item: dict, blocks: list[dict], kept: list[dict], removed: Counter, *, audit: bool = False) -> dict:
    """Sets `text` from the kept blocks and merges the removal counts (and, when auditing,
    the removed texts) into `cleaning`."""
    item["text"] = blocks_to_text(kept)
    cleaning = item.setdefault("cleaning", {})
    counts = Counter(cleaning.get("removed") or {})
    counts.update(removed)
    cleaning["removed"] = dict(counts)
    if audit:
        cleaning["removed_text"] = [
            {"category": b["_removed"], "text": b["text"]} for b in blocks if b.get("_removed")
        ]
    return item


def decruft_in_order(items: list[dict], outlet, learner: BoilerplateLearner, *, warmup: int = 12,
                     audit: bool = False) -> list[dict]:
    """The decruft stage over a batch of one outlet's extracted records, in order, as a
    crawl would see them: records that arrive before the outlet has `warmup` pages counted
    wait until it has (or until the batch ends), then are cleaned with what was learned.
    For `newscrawl clean` over saved pages, and for benchmarks."""
    out: list[dict | None] = [None] * len(items)
    held: list[tuple[int, dict, list, list, Counter]] = []

    def finish(i, item, blocks, kept, removed):
        kept, learned = learner.filter(kept)
        removed.update(learned)
        out[i] = apply_cleaning(item, blocks, kept, removed, audit=audit)

    for i, item in enumerate(items):
        blocks = item.pop("_blocks", None) or []
        kept, removed = pre_learning_clean(item, blocks, outlet)
        learner.observe(_page_id(item) or f"#{i}", kept)
        if warmup > 0 and learner.pages < warmup:
            held.append((i, item, blocks, kept, removed))
            continue
        for args in held:
            finish(*args)
        held = []
        finish(i, item, blocks, kept, removed)
    for args in held:
        finish(*args)
    return out
