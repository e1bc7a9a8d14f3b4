"""Extract stage: the page's body as blocks, and its metadata.

Metadata is read from the untouched page (JSON-LD first, then OpenGraph and meta tags,
then a visible byline and htmldate); the body is extracted after the DOM pre-clean.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree

from newscrawl import page_data
from newscrawl.gate import ARTICLE_TYPES, jsonld_blocks
from newscrawl.html import parse_html  # noqa: F401 (re-exported: stages parse pages with it)
from pipelines import page_time
from pipelines.normalise import AGENCIES, not_a_person, person_name_order
from pipelines.work import WORK, Work

# trafilatura and htmldate are imported where they are used, not here: the crawl process
# imports this module for ExtractPipeline alone, and extraction runs in the workers, whose
# fork server imports them once (warm_up, called by pipelines/pool_warmup.py).
if TYPE_CHECKING:
    from trafilatura.settings import Extractor

BLOCK_KINDS = {"p": "p", "head": "h", "item": "li", "quote": "quote", "code": "pre", "table": "table"}


def jsonld_objects(root) -> list[dict]:
    """Every JSON-LD object of the page, @graph members included, read as the article
    gate reads them (newscrawl.gate.jsonld_blocks)."""
    out: list[dict] = []

    def walk(obj):
        if isinstance(obj, list):
            for o in obj:
                walk(o)
        elif isinstance(obj, dict):
            out.append(obj)
            if "@graph" in obj:
                walk(obj["@graph"])

    walk(jsonld_blocks(root))
    return out


def _types(obj: dict) -> set[str]:
    t = obj.get("@type")
    return {str(x) for x in t} if isinstance(t, list) else {str(t)} if t else set()


ORGANISATION_TYPES = {"Organization", "NewsMediaOrganization", "Corporation", "Brand"}


def _names(value, by_id: dict | None = None, organisations: bool = False) -> list[str]:
    """Person names from a JSON-LD author value; with `organisations`, the names of the
    organisations instead (a wire, the newsroom: a byline only where no person is named)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [] if organisations else [value]
    if isinstance(value, dict):
        if "name" not in value and value.get("@id") in (by_id or {}):
            value = by_id[value["@id"]]
        if bool(_types(value) & ORGANISATION_TYPES) != organisations:
            return []
        name = value.get("name")
        return [name] if isinstance(name, str) else []
    if isinstance(value, list):
        return [n for v in value for n in _names(v, by_id, organisations)]
    return []


# The author page of a CMS's administrator account (WordPress's /author/admin/): the
# site's own account, whatever name it shows.
ADMIN_ACCOUNT = re.compile(r"/(?:author|user|profile|members?)/(?:site-?)?admin(?:istrator)?/?$", re.I)


def admin_accounts(value, by_id: dict) -> set[str]:
    """Keys (_loose) of the JSON-LD authors whose @id or url is an administrator account."""
    values = value if isinstance(value, list) else [value]
    found = set()
    for v in values:
        if isinstance(v, dict):
            v = by_id.get(v.get("@id"), v) if "name" not in v else v
            links = [v.get("@id"), v.get("url")]
            if isinstance(v.get("name"), str) and any(
                    isinstance(link, str) and ADMIN_ACCOUNT.search(urlsplit(link).path) for link in links):
                found.add(_loose(v["name"]))
    return found - {""}


BYLINE_PREFIX = re.compile(
    r"^\s*(?:posted\s+|written\s+)?by[:\s]+|^\s*(?:von|par|por|di|door|text|текст|autor|autorin|author)[:\s]+", re.I)
BYLINE_SPLIT = re.compile(r"\s*(?:,|;|\||\band\b|\bund\b|&|\s-\s)\s*", re.I)
# Parts of a byline that name a role or a publication rather than a person.
NOT_A_NAME = re.compile(r"\.(?:com|net|org)\b|\b(?:writer|staff writer|correspondent|editor|reporter)$|^https?:", re.I)


# Initials or a handle standing for the author ("amw"): lower case, a few letters.
INITIALS = re.compile(r"^[a-z]{2,4}$")
EMAIL = re.compile(r"^\S+@\S+\.\w+$")


def byline_names(raw: str) -> list[str]:
    """"By TOM KRISHER and JANE DOE, AP Auto Writer" -> ["TOM KRISHER", "JANE DOE"];
    "You, Xiaoying" -> ["Xiaoying You"]. E-mail addresses, URL slugs, handles and
    lower-case initials are not names."""
    names = []
    for part in BYLINE_SPLIT.split(person_name_order(BYLINE_PREFIX.sub("", raw or ""))):
        part = " ".join(part.split())
        if (part and not NOT_A_NAME.search(part) and len(part) <= 60 and not EMAIL.match(part)
                and not not_a_person(part) and not (INITIALS.match(part) and part not in AGENCIES)):
            names.append(part)
    return names


def _valid_date(value: str | None) -> str | None:
    """An ISO 8601 date-time as given (a JavaScript Date string converted), or None for
    placeholders and other free-form dates."""
    if value and not ISO_DATE.match(value):
        value = page_time.iso_from_js_date(value)
    if value and not value.startswith("0001"):
        return value
    return None


ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _first_str(*values):
    for v in values:
        if isinstance(v, list):
            v = next((x for x in v if isinstance(x, str) and x.strip()), None)
        if isinstance(v, dict):
            v = v.get("url") or v.get("name")
        if isinstance(v, str) and v.strip():
            return v.strip()
    return None


# The elements the metadata is read from. One walk of the tree collects them all: each
# XPath or find() over the page would walk the whole tree again.
METADATA_TAGS = ("meta", "link", "title", "h1", "h2", "time")


def _metadata_elements(root, tags: tuple[str, ...] = METADATA_TAGS) -> dict[str, list]:
    """The page's elements of `tags`, by tag, each list in document order."""
    found: dict[str, list] = {tag: [] for tag in tags}
    for el in root.iter(*tags):
        found[el.tag].append(el)
    return found


def _meta(metas: list) -> dict[str, str]:
    meta: dict[str, str] = {}
    for el in metas:
        content = el.get("content")
        if content is None:
            continue
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        if key and key not in meta:
            meta[key] = content.strip()
    return meta


AUTHOR_META = ("author", "article:author", "byl", "dc.creator", "sailthru.author", "parsely-author")


def _meta_authors(metas: list) -> list[str]:
    """Every value of the author meta tags, in AUTHOR_META order: a page may repeat one
    (a dc.creator per author; an author tag for the publication and one for the writer)."""
    found: dict[str, list[str]] = {key: [] for key in AUTHOR_META}
    for el in metas:
        key = (el.get("property") or el.get("name") or el.get("itemprop") or "").strip().lower()
        content = el.get("content")
        if key in found and content and content.strip():
            found[key].append(content.strip())
    return [v for key in AUTHOR_META for v in found[key]]
PUBLISHED_META = ("article:published_time", "article:published", "datepublished", "og:datepublished",
                  "dc.date.issued", "dc.date", "pub_date", "parsely-pub-date", "published")
MODIFIED_META = ("article:modified_time", "datemodified", "og:updated_time", "dc.date.modified")


def extract_metadata(root, url: str, hints: dict | None = None, objects: list[dict] | None = None) -> dict:
    """Metadata from JSON-LD first, then OpenGraph and meta tags; a visible byline and
    htmldate (visible dates) fill the author and date only where those say nothing."""
    objects = jsonld_objects(root) if objects is None else objects
    elements = _metadata_elements(root)
    meta = _meta(elements["meta"])
    record = _declared_metadata(root, elements, meta, hints, objects, url)
    ld = article_object(objects)
    by_id = {o["@id"]: o for o in objects if isinstance(o.get("@id"), str)}
    # The site's own name, or its CMS's administrator account, is a byline only where the
    # page names no one else.
    sites = site_names(meta, ld, url) | admin_accounts(ld.get("author"), by_id)
    declared = record["authors"]
    shown, one_each, editors = visible_byline(root)
    record["authors"] = [n for n in declared if not _is_site(n, sites) and _loose(n) not in editors]
    shown = [n for n in shown if not _is_site(n, sites)]
    if not record["authors"] or one_each and _names_more(shown, record["authors"]):
        # A byline of one element per author that names the declared authors and others
        # names them all.
        record["authors"] = shown or story_byline(root) or declared
    if not record["authors"]:
        # No one named anywhere: an organisation the article names as its author (a
        # wire, a newsroom), unless that is the publication itself.
        record["authors"] = [n for raw in _names(ld.get("author"), by_id, organisations=True)
                             for n in byline_names(raw) if not _is_site(n, sites)]
    published = record["published_at"]
    if not published:
        record["published_at"] = visible_date(root, url)
    elif page_time.NAIVE_VALUE.match(published):
        # A clock time without an offset: the page's own offset, where it states one.
        record["published_at"] = page_time.naive_in_page_offset(
            published, _declared_datetimes(meta, elements["time"], objects), _script_text(root, elements["meta"]))
    elif page_time.given_in_utc(published):
        # Only a UTC time moves to the page's own offset: the page's other date-times
        # and its text are read for that alone.
        record["published_at"] = page_time.in_page_time_zone(
            published, _declared_datetimes(meta, elements["time"], objects), _shown_text(root))
    return record


def _names_more(names: list[str], than: list[str]) -> bool:
    """Whether `names` holds every name of `than` and more."""
    keys = {_loose(n) for n in names}
    return keys > {_loose(n) for n in than}


def _is_site(name: str, sites: set[str]) -> bool:
    """Whether an author name is the site's own name ("Lesotho Times", "lrt.lt")."""
    key = _loose(name)
    return any(key == site or (key.startswith(site) and len(key) - len(site) <= 3) for site in sites)


def visible_date(root, url: str) -> str | None:
    """The publication day as htmldate finds it on the page; the cheap search first."""
    import trafilatura  # noqa: F401 (importing it sets htmldate's log level to WARNING)
    from htmldate import find_date

    return (find_date(root, extensive_search=False, original_date=True, url=url)
            or find_date(root, extensive_search=True, original_date=True, url=url))


def _declared_datetimes(meta: dict[str, str], times: list, objects: list[dict]) -> list[str]:
    values = [v for v in meta.values() if ISO_DATE.match(v)]
    values += [str(v) for o in objects for k, v in o.items()
               if isinstance(k, str) and k.startswith(("date", "uploadDate")) and isinstance(v, str)]
    return values + [el.get("datetime") for el in times if el.get("datetime") is not None]


# Every text node under an element, in document order: what itertext() yields, without
# a Python-level walk over every element.
TEXT_NODES = etree.XPath("descendant::text()", smart_strings=False)


def _script_text(root, metas: list) -> str:
    """The page's scripts and meta contents, where Unix times are written."""
    return " ".join([el.text for el in root.iter("script") if el.text]
                    + [el.get("content") or "" for el in metas])


def _shown_text(root) -> str:
    body = root.find("body")
    return " ".join(TEXT_NODES(body if body is not None else root))


# An element that holds a byline inside comments, sidebars, dates or figures names
# someone other than the article's author.
BYLINE_ELSEWHERE = etree.XPath(
    """boolean(ancestor-or-self::*[self::a or self::div or self::section or self::span][
    @id='comments' or @class='comments' or @class='title' or @class='date' or
    re:test(@id, '^comments|comment-?list|ProductReviews') or
    re:test(@class, '^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|article-(?:share|support)|print|category|meta-date|meta-reviewer')]
    or ancestor-or-self::time or ancestor-or-self::figure)""",
    namespaces={"re": "http://exslt.org/regular-expressions"},
)


# Where a visible byline sits, most specific first: trafilatura's author selectors, each
# a test of one element (written with contains() because EXSLT regular expressions call
# back into Python for every element).
BYLINE_SELECTORS = (
    """self::*[self::a or self::address or self::div or self::link or self::p or self::span or self::strong][
    @rel='author' or @id='author' or @class='author' or @itemprop='author name' or
    @data-testid='AuthorCard' or @data-testid='AuthorURL' or contains(@class, 'author-name') or
    contains(@class, 'authorname') or contains(@class, 'AuthorName') or contains(@class, 'authorName')]
    or self::author""",
    """self::*[self::a or self::div or self::h3 or self::h4 or self::p or self::span][
    @class='byline' or @class='username' or @class='byl' or @class='BBL' or contains(@itemprop, 'author') or
    contains(@id, 'author') or contains(@class, 'author') or contains(@class, 'channel-name') or
    contains(@class, 'submitted-by') or contains(@class, 'posted-by') or contains(@class, 'journalist-name')]""",
    """self::*[contains(@data-component, 'Byline') or contains(@itemprop, 'author') or contains(@id, 'Author') or
    contains(@id, 'author') or contains(@class, 'author') or contains(@class, 'Author') or
    contains(@class, 'screenname') or contains(@class, 'writer') or contains(@class, 'byline') or
    contains(@class, 'Byline')]""",
)
BYLINE_MATCHES = [etree.XPath(f"boolean({selector})") for selector in BYLINE_SELECTORS]
# Apart from <author>, every selector asks for one of its quoted strings in an attribute
# value, so an element whose attributes hold none of them matches no selector. Run over
# the whole tree, the selectors would test every element (milliseconds a page); they test
# only the few elements that hold one of the strings. (A selector term without a quoted
# string would break this; tests/test_extract.py checks it.)
BYLINE_HINT = re.compile("|".join(
    re.escape(word) for word in sorted(set(re.findall(r"'([^']*)'", "".join(BYLINE_SELECTORS))))))


def byline_candidates(root) -> list:
    """The elements a byline selector may match, in document order."""
    return [el for el in root.iter() if el.tag == "author" or BYLINE_HINT.search(" ".join(el.values()))]


# Text for screen readers only ("capital" beside a brand logo): not part of the byline.
HIDDEN_CLASS = re.compile(r"visually-hidden|sr-only|screen-reader|a11y-hidden|offscreen", re.I)
# ...nor the label of a button ("Folgen", "Follow") beside it, nor a control styled as
# one ("Themen bearbeiten" in <a class="followAuthorBtn">).
NOT_BYLINE_TAGS = {"button", "script", "style"}
CONTROL_CLASS = re.compile(r"btn|button|follow", re.I)


def _shown_parts(el) -> str:
    """An element's text, without that of descendants hidden from sight."""
    if not any(d.tag in NOT_BYLINE_TAGS or HIDDEN_CLASS.search(d.get("class") or "")
               for d in el.iterdescendants() if isinstance(d.tag, str)):
        return " ".join(el.itertext())
    parts = []

    def walk(node):
        if isinstance(node.tag, str) and (node.tag in NOT_BYLINE_TAGS or HIDDEN_CLASS.search(node.get("class") or "")):
            parts.append(node.tail or "")
            return
        parts.append(node.text or "" if isinstance(node.tag, str) else "")
        for child in node:
            walk(child)
        if node is not el:
            parts.append(node.tail or "")

    walk(el)
    return " ".join(parts)


def _byline_element_names(el) -> list[str]:
    from trafilatura.json_metadata import normalize_authors

    content = " ".join(_shown_parts(el).split())
    if 2 < len(content) < 120 and not (INITIALS.match(content) and content not in AGENCIES):
        raw = normalize_authors(None, content)
        if raw:
            return [n for part in raw.split(";") for n in byline_names(part)]
    return []


# A byline block: the few elements around one author's name that hold the other authors'
# names too, and little else.
BYLINE_BLOCK_LEVELS = 5
BYLINE_BLOCK_CHARS = 300


def _same_block(el, others: list) -> list:
    """Of `others` (elements a byline selector matched after `el`), those in el's byline
    block: the smallest ancestor of el, a few levels up and short, that holds any."""
    for level, block in enumerate(el.iterancestors()):
        if level >= BYLINE_BLOCK_LEVELS or len(block.text_content()) > BYLINE_BLOCK_CHARS:
            break
        inside = [o for o in others if block in o.iterancestors() and el not in o.iterancestors()]
        if inside:
            return [o for o in inside if not any(i in o.iterancestors() for i in inside)]
    return []


# A byline element that names the article's editor, not its author ("Editor : Heryadi").
EDITOR_LABEL = re.compile(r"^\s*(?:editor|edited\s+by|penyunting|redaktur|redaktion)\s*[:\-–]\s*", re.I)


def visible_byline(root) -> tuple[list[str], bool, set[str]]:
    """Names from the first visible byline, read in place rather than on a pruned copy,
    with those of the same selector's other matches in its byline block; whether the
    names came one to an element, from two elements or more (one element per author);
    and the keys (_loose) of the names a byline element labels as the editor's, which
    are not taken."""
    candidates = [el for el in byline_candidates(root)
                  if el.tag not in NOT_BYLINE_TAGS and not CONTROL_CLASS.search(el.get("class") or "")]
    editors = set()
    for el in candidates:
        if EDITOR_LABEL.match(" ".join(islice(el.itertext(), 3))):
            text = _shown_parts(el)
            label = EDITOR_LABEL.match(text)
            if label:
                editors.update(_loose(n) for n in byline_names(text[label.end():]))

    def names_of(el) -> list[str]:
        return [n for n in _byline_element_names(el) if _loose(n) not in editors]

    for matches in BYLINE_MATCHES:
        found = [el for el in candidates if matches(el) and not BYLINE_ELSEWHERE(el)]
        for i, el in enumerate(found):
            names = names_of(el)
            if names:
                each = [names] + [names_of(o) for o in _same_block(el, found[i + 1:])]
                return list(dict.fromkeys(n for part in each for n in part)), len(each) > 1 and all(
                    len(part) == 1 for part in each), editors
    return [], False, editors


# A byline written into the story: a paragraph that is only a name or two in bold,
# before the story's first paragraph of plain text or after its last.
EMPHASIS_TAGS = {"strong", "b", "em", "i"}
STORY_NAME_SPLIT = re.compile(r"\s*(?:/|&|,|\band\b)\s*")
STORY_MIN_PARAGRAPHS = 3


def _plain(p) -> bool:
    """Whether a paragraph has text outside emphasis (not a bold or italic line alone)."""
    return bool((p.text or "").strip()) or any(
        (child.tail or "").strip() or (child.tag not in EMPHASIS_TAGS and child.text_content().strip())
        for child in p if isinstance(child.tag, str))


def _bold_names(p) -> list[str]:
    """The names a paragraph of one bold element holds ("Mathatisi Sebusi/Mohalenyane
    Phakela", "MTHOBISI SITHOLE"): each of two to four capitalised words, no digits and
    no closing punctuation; else none."""
    children = [c for c in p if isinstance(c.tag, str)]
    if (len(children) != 1 or children[0].tag not in ("strong", "b") or (p.text or "").strip()
            or (children[0].tail or "").strip() or next(p.iter("a"), None) is not None):
        return []
    text = " ".join(p.text_content().split())
    if not 3 <= len(text) <= 80:
        return []
    names = STORY_NAME_SPLIT.split(text)
    for name in names:
        words = name.split()
        if not 2 <= len(words) <= 4 or any(not w[0].isupper() or not w.replace("-", "").replace("'", "").isalpha()
                                            for w in words):
            return []
    return names


def story_byline(root) -> list[str]:
    """The names in a bold paragraph of its own at the head of the story (before its
    first paragraph of plain text, after a standfirst in italics) or at its end."""
    for container in dict.fromkeys(p.getparent() for p in root.iter("p")):
        if container is None:
            continue
        paragraphs = [p for p in container.iterchildren("p") if p.text_content().strip()]
        plain = [i for i, p in enumerate(paragraphs) if _plain(p)]
        if len(plain) < STORY_MIN_PARAGRAPHS:
            continue
        for i, p in enumerate(paragraphs):
            if i < plain[0] or i == len(paragraphs) - 1:
                names = _bold_names(p)
                if names:
                    return names
    return []


# ---------------------------------------------------------------------------------------
# The title: the headline the page shows, as its sources agree on it.

# Between a title and the site name (or section) an SEO title appends: " | ", " - ", " – ",
# " — ", " · ", " / ", or a bar without spaces ("...ㅣ한국일보").
TITLE_SEPARATOR = re.compile(r"\s+(?:[|\-–—·•/]|::)\s+|\s*[|｜ㅣ]\s*")
# A section joined by a bare hyphen in scripts that do not hyphenate words ("...커졌다-정치").
UNSPACED_SECTION = re.compile(r"(?<=[^\x00-\u024f\s])[-–—](?=[^\x00-\u024f\s]{1,4}$)")
# Parts of a headline element that are a kicker (the line above the headline), not the
# headline itself.
KICKER_CLASS = re.compile(r"kicker|overline|dachzeile|topline|roofline|eyebrow|super-?title|pre-?title|spitzmarke|title__topic", re.I)
# Where an h1 is not the article's headline: breadcrumbs ("breadcrumbs", "header__crumb"),
# navigation, sidebars, footers.
NOT_HEADLINE_CLASS = re.compile(r"crumb", re.I)
NOT_HEADLINE_TAGS = {"nav", "aside", "footer"}
SITE_LOGO = re.compile(r"logo|site-?title|site-?name|brand", re.I)
HOST_LABELS_SKIPPED = {"www", "m", "amp", "mobile", "com", "net", "org", "co", "news", "de", "uk"}


def _loose(text: str | None) -> str:
    """A title's letters and digits, case-folded: two titles that differ only in spacing,
    punctuation, quote marks or separators have the same key."""
    return "".join(ch for ch in (text or "").casefold() if ch.isalnum())


def site_names(meta: dict[str, str], ld: dict, url: str) -> set[str]:
    """Keys (_loose) of the names the site goes by: og:site_name, application-name, the
    JSON-LD publisher's name, and the distinctive labels of the host name."""
    publisher = ld.get("publisher")
    names = [meta.get("og:site_name"), meta.get("application-name"),
             publisher.get("name") if isinstance(publisher, dict) else None]
    keys = {_loose(n) for n in names if isinstance(n, str) and len(n) <= 60}
    host = (urlsplit(url).hostname or "") if url else ""
    keys.update(_loose(label) for label in host.split(".")[:-1] if label not in HOST_LABELS_SKIPPED)
    return {k for k in keys if len(k) >= 3}


def _names_site(part: str, sites: set[str]) -> bool:
    """Whether a title's part ("Golem.de", "Die Neue Südtiroler Tageszeitung") names the site."""
    key = _loose(part)
    if not key or len(part) > 60 or len(part.split()) > 4:
        return False
    return any(site == key or site in key or (len(key) >= 4 and 2 * len(key) >= len(site) and key in site)
               for site in sites)


def strip_site_name(title: str, sites: set[str], others: set[str] = frozenset()) -> str:
    """`title` without the site name an SEO title adds before or after the headline, nor
    a section between them ("Headline - Politik | Site"); a trailing part also goes where
    what is left is another source's title (`others`: their _loose keys)."""
    title = " ".join(title.split())
    stripped_site = False
    while True:
        seps = list(TITLE_SEPARATOR.finditer(title))
        if not seps:
            break
        last, first = seps[-1], seps[0]
        head, tail = title[:last.start()], title[last.end():]
        if _loose(head) and (_names_site(tail, sites) or _loose(head) in others):
            title, stripped_site = head, True
            continue
        lead, rest = title[:first.start()], title[first.end():]
        if _loose(rest) and _names_site(lead, sites):
            title, stripped_site = rest, True
            continue
        break
    # "Headline - Section" once the site name is gone: a short last part, where the
    # headline before it is longer.
    seps = list(TITLE_SEPARATOR.finditer(title)) or list(UNSPACED_SECTION.finditer(title))
    if stripped_site and seps:
        head, tail = title[:seps[-1].start()], title[seps[-1].end():]
        if len(tail.split()) <= 2 and len(tail) <= 20 and len(head.split()) >= 3 and _loose(tail).isalpha():
            title = head
    return title


def _is_headline_element(h1) -> bool:
    """Whether an h1 may be the article's headline: not in a breadcrumb, navigation, a
    sidebar or a footer, and not the site's logo (a link to the home page)."""
    if NOT_HEADLINE_CLASS.search(h1.get("class") or "") or SITE_LOGO.search(
            " ".join((h1.get("class") or "", h1.get("id") or ""))) or _last_crumb(h1):
        return False
    for el in h1.iterancestors():
        if el.tag in NOT_HEADLINE_TAGS or NOT_HEADLINE_CLASS.search(el.get("class") or "") or (
                el.get("itemprop") == "itemListElement"):
            return False
        if el.tag == "a" and _home_link(el):
            return False
    return not any(_home_link(a) for a in h1.iter("a"))


def _last_crumb(h1) -> bool:
    """Whether an h1 is the current page's entry at the end of a breadcrumb trail: marked
    so (aria-current), or a list item after items that are each a link."""
    if h1.get("aria-current") == "page":
        return True
    item = next((el for el in h1.iterancestors() if el.tag == "li"), None)
    if item is None or item not in (h1.getparent(), h1.getparent().getparent()):
        return False
    before = list(item.itersiblings("li", preceding=True))
    return bool(before) and all(next(li.iter("a"), None) is not None for li in before)


def _in_parts(el) -> bool:
    """Whether a headline element's text is two or more parts set apart (a kicker and the
    headline, each its own line): no text of its own, two child elements with text."""
    return not (el.text or "").strip() and sum(
        bool(child.text_content().strip()) for child in el if isinstance(child.tag, str)) >= 2


def _home_link(a) -> bool:
    href = (a.get("href") or "").strip()
    return href in ("/", "./") or (href.startswith(("http://", "https://")) and urlsplit(href).path in ("", "/")
                                   and not urlsplit(href).query)


def _text(el) -> str:
    return " ".join(el.text_content().split())


def _without_kicker(h1) -> str | None:
    """The headline element's text without its kicker parts, or None when it has none."""
    kickers = [el for el in h1.iterdescendants() if isinstance(el.tag, str)
               and KICKER_CLASS.search(el.get("class") or "")]
    if not kickers:
        return None
    parts = []

    def walk(el):
        if el in kickers:
            return
        parts.append(el.text or "")
        for child in el:
            if isinstance(child.tag, str):
                walk(child)
            parts.append(child.tail or "")

    walk(h1)
    core = " ".join("".join(parts).split())
    # what stood between the kicker and the headline: " - ", ": ", hidden separators
    return re.sub(r"^[\s\-–—:|/·•]+", "", core) or None


def _headline(h1s: list, declared: set[str], sites: set[str], *,
              confirmed: bool = False) -> tuple[str | None, bool]:
    """The article's headline element's text, and whether that is the whole element with
    its kicker (or other parts set apart): of the h1s outside breadcrumbs, navigation,
    sidebars and logos, the first that another source confirms (with or without its
    kicker), else the first, unless `confirmed`. A kicker no other source carries is dropped."""
    plausible = [h for h in h1s if _is_headline_element(h) and _loose(_text(h)) not in sites | {""}]
    for h in plausible:
        full, core = _text(h), _without_kicker(h)
        if _loose(full) in declared:
            return full, core is not None or _in_parts(h)
        if core and _loose(core) in declared:
            return core, False
    if not plausible or confirmed:
        return None, False
    h = plausible[0]
    core = _without_kicker(h)
    return (core, False) if core else (_text(h), False)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.casefold())


def choose_title(ld_headline, h1s: list, og_title, fallbacks: tuple, sites: set[str],
                 h2s: list = ()) -> str | None:
    """The title: the headline the page shows (its h1, else the JSON-LD headline) rather
    than the SEO title (og:title, <title>), with site names and kickers stripped. Where
    no h1 is the headline (a page whose h1 is the last crumb of its breadcrumb trail), an
    h2 that the JSON-LD headline or og:title confirms is the headline shown (`h2s`).

    A declared title (JSON-LD headline, og:title) that equals the h1 up to punctuation and
    case gives the form where the h1 runs a kicker into the headline without a separator;
    where the JSON-LD headline and og:title agree on a kicker above the h1 (or on leaving
    out one it has), they win. twitter:title, a feed's title and <title> are read only
    where the page has none of the three."""
    ld = ld_headline.strip() if isinstance(ld_headline, str) and ld_headline.strip() else None
    ld = html.unescape(ld) if ld and "&" in ld else ld
    og = og_title.strip() if isinstance(og_title, str) and og_title.strip() else None
    raw = {name: v for name, v in (("ld", ld), ("og", og)) if v}
    declared = {}
    for name, v in raw.items():
        others = {_loose(o) for other, o in raw.items() if other != name}
        declared[name] = strip_site_name(v, sites, others)
    keys = {_loose(v) for v in declared.values()} | {_loose(v) for v in raw.values()}
    headline, kicker_joined = _headline(h1s, keys, sites) if h1s else (None, False)
    if not headline and h2s:
        headline, kicker_joined = _headline(h2s, keys, sites, confirmed=True)
    if headline:
        key = _loose(headline)
        declared = {name: strip_site_name(v, sites, {key}) for name, v in raw.items()}
        same = [v for v in (declared.get("og"), declared.get("ld")) if v and _loose(v) == key]
        if same and (kicker_joined or _words(same[0]) != _words(headline)):
            return same[0]  # the kicker and the headline with the separator between them
        if len(declared) == 2 and _loose(declared["og"]) == _loose(declared["ld"]) != key:
            agreed = _loose(declared["og"])
            if agreed.endswith(key) or key.endswith(agreed):
                return declared["og"]
        return headline
    if declared:
        # og:title's form where the two differ only in punctuation: a JSON-LD headline
        # built from a kicker and a headline often joins them with " - ".
        if "og" in declared and _loose(declared["og"]) == _loose(declared.get("ld")):
            return declared["og"]
        return declared.get("ld") or declared["og"]
    fallback = _first_str(*fallbacks)
    return strip_site_name(html.unescape(fallback), sites) if fallback else None


def article_object(objects: list[dict]) -> dict:
    """The page's JSON-LD article: the first object of an article type, or a WebPage's
    mainEntity of one."""
    found = next((o for o in objects if _types(o) & ARTICLE_TYPES), None)
    if found is None:
        found = next((o["mainEntity"] for o in objects if isinstance(o.get("mainEntity"), dict)
                      and _types(o["mainEntity"]) & ARTICLE_TYPES), None)
    return found or {}


def _declared_metadata(root, elements: dict[str, list], meta: dict[str, str], hints: dict | None,
                       objects: list[dict], url: str = "") -> dict:
    hints = hints or {}
    by_id = {o["@id"]: o for o in objects if isinstance(o.get("@id"), str)}
    ld = article_object(objects)
    canonical = next((el.get("href") for el in elements["link"]
                      if el.get("rel") == "canonical" and el.get("href") is not None), None)
    html_lang = root.get("lang")
    keywords = ld.get("keywords")
    if isinstance(keywords, str):
        keywords = [k.strip() for k in keywords.split(",")]
    tags = [t for t in (keywords or []) if isinstance(t, str) and t.strip()] or [
        el.get("content") for el in elements["meta"] if el.get("property") == "article:tag" and el.get("content")
    ]
    free = ld.get("isAccessibleForFree")
    if isinstance(free, str):
        free = {"true": True, "false": False}.get(free.strip().lower())
    title_el = elements["title"][0] if elements["title"] else None
    return {
        "title": choose_title(
            ld.get("headline"), elements["h1"], meta.get("og:title"),
            (meta.get("twitter:title"), hints.get("title"), title_el.text_content() if title_el is not None else None),
            site_names(meta, ld, url), elements["h2"]),
        "description": _first_str(ld.get("description"), meta.get("og:description"), meta.get("description")),
        "authors": [n for raw in _names(ld.get("author"), by_id) for n in byline_names(raw)] or [
            n for raw in _meta_authors(elements["meta"]) for n in byline_names(raw)
        ],
        "published_at": next(filter(None, (_valid_date(_first_str(v)) for v in (
            ld.get("datePublished"), *(meta.get(k) for k in PUBLISHED_META), hints.get("published_at")))), None),
        "modified_at": next(filter(None, (_valid_date(_first_str(v)) for v in (
            ld.get("dateModified"), *(meta.get(k) for k in MODIFIED_META)))), None),
        "language": _first_str(ld.get("inLanguage"), html_lang, meta.get("og:locale")),
        "site_name": _first_str(meta.get("og:site_name"), ld.get("publisher")),
        "section": _first_str(ld.get("articleSection"), meta.get("article:section")),
        "tags": tags,
        "image": _first_str(ld.get("image"), meta.get("og:image")),
        "canonical_url": _first_str(canonical, meta.get("og:url")),
        "paywalled": (not free) if isinstance(free, bool) else None,
    }


def _absolute(base: str | None, href: str) -> str:
    if not base:
        return href
    try:
        return urljoin(base, href)
    except ValueError:  # a malformed href (say, an unclosed IPv6 bracket) stays as written
        return href


# Elements of trafilatura's body tree that a browser renders apart from their neighbours
# (a line break, a table cell, a list item); every other one (ref, hi, del, code inside
# a paragraph) is inline, and its text runs on from what precedes it with no space added:
# "changes i<ref>n</ref> their" is "changes in their", not "changes i n their".
SEPARATE_TAGS = frozenset(("lb", "cell", "row", "item", "list", "p", "head", "quote", "table", "graphic"))


def rendered_text(el) -> str:
    """The text of a body element joined as a browser renders it: inline elements run on,
    the separate ones (SEPARATE_TAGS) are set apart by a space; whitespace collapsed."""
    parts: list[str] = []
    for event, node in etree.iterwalk(el, events=("start", "end")):
        if node is el:
            if event == "start" and node.text:
                parts.append(node.text)
            continue
        if not isinstance(node.tag, str):  # a comment or processing instruction: only its tail is text
            if event == "end" and node.tail:
                parts.append(node.tail)
            continue
        separate = node.tag in SEPARATE_TAGS
        if event == "start":
            if separate:
                parts.append(" ")
            if node.text:
                parts.append(node.text)
        else:
            if separate:
                parts.append(" ")
            if node.tail:
                parts.append(node.tail)
    return " ".join("".join(parts).replace(SEAM, " ").split())


def _block_from(el, base_url: str | None = None) -> dict:
    text = rendered_text(el)
    links, link_chars = [], 0
    for ref in el.iter("ref"):
        target = ref.get("target")
        if target:
            links.append(_absolute(base_url, target))
        link_chars += len(rendered_text(ref))
    return {"kind": BLOCK_KINDS.get(el.tag, "p"), "text": text, "links": links, "link_chars": link_chars}


def body_blocks(body, base_url: str | None = None) -> list[dict]:
    """trafilatura's XML body as blocks in reading order; a list yields one block per item.
    Link targets are made absolute against `base_url`."""
    blocks = []
    if body is None:
        return blocks
    for el in body:
        if el.tag == "list":
            blocks.extend(_block_from(item, base_url) for item in el.iter("item"))
        else:
            blocks.append(_block_from(el, base_url))
    return [b for b in blocks if b["text"]]


def extract_body(root, url: str, titles: list[str], jsonld_body: str | None = None,
                 from_page_data: Callable[[int], tuple[list[dict], str] | None] | None = None,
                 ) -> tuple[list[dict], str]:
    """The article body as blocks, and the name of what produced it.

    A cascade, each step only where the one before looks doubtful (short, or a listing
    rather than prose): trafilatura in its precision mode without its own fallback
    extractors; the same with them; then the wider extractors run and vote. Where the
    page holds next to no body of its own (a page built by JavaScript),
    `from_page_data(chars)` gives the body in the data its scripts carry, when that
    has more than `chars` characters. A leading block that repeats the headline is
    dropped either way.
    """
    import trafilatura

    from pipelines import body_vote

    repair_for_precision(root)
    blocks = _trafilatura_blocks(root, url, PRECISION_FAST)
    producer = f"trafilatura-{trafilatura.__version__}:precision"
    if body_vote.doubtful(blocks):
        blocks = _trafilatura_blocks(root, url, PRECISION)
    # A body split by ad slots or a "read more" continuation: the precision pass keeps
    # the first part alone, long as it may be.
    paragraphs = prose_paragraphs(root)
    truncated = body_vote.chars(blocks) < body_vote.TRUNCATED_SHARE * story_paragraph_chars(paragraphs)
    if truncated or body_vote.doubtful(blocks):
        blocks, producer = body_vote.vote(
            primary=blocks,
            wide=_trafilatura_blocks(root, url, BALANCED),
            readability_text=lambda: body_vote.readability_text(root),
            jsonld_body=jsonld_body,
            truncated=truncated,
        )
    blocks = recover_split_body(root, blocks, paragraphs, url, beyond=truncated)
    if from_page_data is not None and body_vote.word_count(blocks) < body_vote.SHORT_WORDS:
        found = from_page_data(body_vote.chars(blocks))
        if found is not None:
            blocks, producer = found
    return body_vote.drop_repeated_headline(blocks, titles), producer


# A paragraph of this many characters, with little of it link text, reads as story text.
STORY_PARAGRAPH_CHARS = 150
# Shorter paragraphs still tell where a body's parts are.
PROSE_PARAGRAPH_CHARS = 50
STORY_LINK_SHARE = 0.3
PARAGRAPH_TEXT = etree.XPath("string()", smart_strings=False)


# The text nodes a reader sees: not an icon's <title> inside an <svg>, nor code.
SHOWN_TEXT = etree.XPath(
    "descendant::text()[not(ancestor::svg or ancestor::script or ancestor::style or ancestor::noscript"
    " or ancestor::template)]", smart_strings=False)


def _dom_text(el) -> str:
    """An element's text as rendered, after mark_seams (its marks are the spaces)."""
    return " ".join("".join(SHOWN_TEXT(el)).replace(SEAM, " ").split())


def prose_paragraphs(root, min_chars: int = PROSE_PARAGRAPH_CHARS) -> dict:
    """The page's prose paragraphs (<p> elements of at least `min_chars` that are not
    mostly links), as they stand after the pre-clean, in document order, each with its
    text as rendered."""
    out = {}
    for p in root.iter("p"):
        text = PARAGRAPH_TEXT(p)
        if len(text) < min_chars:
            continue
        links = sum(len(PARAGRAPH_TEXT(a)) for a in p.iter("a"))
        if links < STORY_LINK_SHARE * len(text):
            out[p] = _dom_text(p)
    return out


def story_paragraph_chars(paragraphs: dict) -> int:
    """How much text an article body taken from the page should come close to: the
    characters of its long prose paragraphs."""
    return sum(n for n in map(len, paragraphs.values()) if n >= STORY_PARAGRAPH_CHARS)


def _signature(el) -> tuple:
    return (el.tag, frozenset((el.get("class") or "").split()))


def _same_kind(signature: tuple, kinds: set) -> bool:
    """A container of the same kind as one of `kinds`: the same tag, and the same classes,
    or two or more of them ("body articleBody" beside "body articleBody -bottom-space").
    A container without classes is of no recognisable kind."""
    tag, classes = signature
    return bool(classes) and any(tag == t and (classes == c or (min(len(classes), len(c)) >= 2 and (
        classes <= c or c <= classes))) for t, c in kinds)


# What a split body's further parts hold, besides paragraphs: subheadings and quotes.
PART_TAGS = ("p", "h2", "h3", "h4", "blockquote")


DOM_BLOCK_KINDS = {"h2": "h", "h3": "h", "h4": "h", "blockquote": "quote", "li": "li"}


def _dom_block(el, base_url: str | None) -> dict:
    text = _dom_text(el)
    links = [_absolute(base_url, a.get("href")) for a in el.iter("a") if a.get("href")]
    link_chars = sum(len(_dom_text(a)) for a in el.iter("a"))
    return {"kind": DOM_BLOCK_KINDS.get(el.tag, "p"), "text": text, "links": links, "link_chars": link_chars}


def recover_split_body(root, blocks: list[dict], paragraphs: dict, base_url: str | None = None, *,
                       beyond: bool = False) -> list[dict]:
    """Repairs a body whose page splits it into several containers, of which trafilatura
    may read only some, or glue several into one block.

    The parts: containers of the same kind (tag and class) as those the blocks' prose
    paragraphs came from (a body split by ad slots), or held directly in one of those (a
    "read more" continuation, an expander), holding prose paragraphs the blocks lack.
    Each part's paragraphs, subheadings and quotes are added in page order: only parts
    between the first and the last paragraph found, unless `beyond` (the body looks cut
    short), then the parts after it too. A block that is several of the page's
    paragraphs run together is split into them."""
    if not blocks or not paragraphs:
        return blocks
    texts = paragraphs  # paragraph -> its text (prose_paragraphs)
    body_text = " ".join(b["text"] for b in blocks)
    covered = [p for p in paragraphs if texts[p] in body_text]
    if not covered:
        return blocks
    blocks = _split_glued(blocks, covered, texts, base_url)
    homes = {p.getparent() for p in covered} - {None}
    kinds = {_signature(home) for home in homes}
    parts = []  # further containers of the body, in page order
    for p in paragraphs:
        home = p.getparent()
        if home is None or home in homes or home in parts or texts[p] in body_text or _in_caption(p):
            continue
        if _same_kind(_signature(home), kinds) or home.getparent() in homes:
            parts.append(home)
    if not parts:
        return blocks
    position = {el: i for i, el in enumerate(root.iter())}
    first, last = position[covered[0]], position[covered[-1]]
    parts = [home for home in parts if position[home] > first and (beyond or position[home] < last)]
    if not parts:
        return blocks
    # Each block's place in the page: that of the covered paragraph it holds (blocks
    # that hold none go with the block before them).
    placed = []
    at = -1
    for block in blocks:
        where = next((position[p] for p in covered if texts[p] in block["text"]), None)
        at = where if where is not None else at
        placed.append((at, 0, block))
    for home in parts:
        for el in home.iterchildren(PART_TAGS):
            block = _dom_block(el, base_url)
            if block["text"] and block["text"] not in body_text and block["link_chars"] <= 0.5 * len(block["text"]):
                placed.append((position[el], 1, block))
    placed.sort(key=lambda entry: (entry[0], entry[1]))
    return [block for _, _, block in placed]


# Where a fragment's paragraphs are not its story: captions, asides, embedded boxes.
NOT_STORY = ("figure", "figcaption", "aside", "table", "nav", "footer")
CAPTION_CLASS = re.compile(r"caption", re.I)


def _in_caption(el, levels: int = 4) -> bool:
    """Inside a figure, a caption or an aside, within `levels` of its ancestors."""
    for ancestor in el.iterancestors():
        if ancestor.tag in NOT_STORY or CAPTION_CLASS.search(ancestor.get("class") or ""):
            return True
        levels -= 1
        if not levels:
            return False
    return False


# What a fragment's body is read from: a split body's parts, and list items.
FRAGMENT_TAGS = PART_TAGS + ("li",)


def fragment_blocks(fragment, base_url: str | None = None) -> list[dict]:
    """The paragraphs, subheadings, quotes and list items of an HTML fragment as blocks,
    outside captions and asides, each once (a paragraph inside a quote or a list item is
    theirs)."""
    out = []
    for el in fragment.iter(FRAGMENT_TAGS):
        if any(a.tag in FRAGMENT_TAGS or a.tag in NOT_STORY or CAPTION_CLASS.search(a.get("class") or "")
               for a in el.iterancestors()):
            continue
        block = _dom_block(el, base_url)
        if block["text"]:
            out.append(block)
    return out


WORD = re.compile(r"\w")


def _split_glued(blocks: list[dict], covered: list, texts: dict, base_url: str | None) -> list[dict]:
    """Each block that is exactly two or more of the page's paragraphs run together (no
    word of it outside them) as those paragraphs."""
    out = []
    for block in blocks:
        text = block["text"]
        parts, rest = [], text
        if len(text) > 2 * PROSE_PARAGRAPH_CHARS:
            for p in covered:  # in page order; a paragraph the page repeats is taken as often as the block holds it
                at = rest.find(texts[p])
                if at >= 0:
                    parts.append((at, p))
                    rest = rest[:at] + " " * len(texts[p]) + rest[at + len(texts[p]):]
        if len(parts) >= 2 and not WORD.search(rest):
            out.extend(_dom_block(p, base_url) for _, p in sorted(parts, key=lambda part: part[0]))
            continue
        out.append(block)
    return out


# Elements that trafilatura's precision mode deletes when empty, together with the text
# that follows them (their tail): a WordPress "more" anchor (<span id="more-N"></span>)
# or a spacer div at the start of a paragraph or heading takes the whole paragraph with it.
EMPTY_CUT_TAGS = ("span", "div", "b", "strong", "i", "em", "p", "h1", "h2", "h3", "h4", "h5", "h6", "q")
# Class names of a subheading written as a styled div; trafilatura reads no text from a
# div once the page has paragraphs.
SUBHEAD_CLASS = re.compile(r"sub-?head|cross-?head|inter-?tit", re.I)


# Inline elements: their text runs on from their neighbours' in a browser.
INLINE_TAGS = ("a", "span", "b", "strong", "i", "em", "u", "small", "sup", "sub", "abbr", "cite", "code",
               "mark", "time", "font", "q", "s", "del", "ins", "dfn", "kbd", "var", "bdi", "bdo")
# trafilatura trims the text around an inline element it takes for a text node of its own
# (a link in a div of <br>-separated text: "the last <a>MacBook Pro</a> was released"
# comes back as "MacBook Pro" + "was released"), and the space between the words is lost.
# Before extraction, whitespace at those seams is marked with a character that no trim
# removes; rendered_text reads the mark as the space it stands for. (U+2063, INVISIBLE
# SEPARATOR, has no other use in news text; normalisation drops stray ones anyway.)
SEAM = "\u2063"


def repair_for_precision(root) -> None:
    """Undoes three losses of trafilatura's precision mode, in one pass over the tree:
    an empty element followed by text is unwrapped, so that the text stays where it was;
    a text-only div named as a subheading, between two paragraphs, becomes a heading;
    the spaces around inline elements are marked (SEAM), so that trimming keeps them."""
    empty = []
    for el in root.iter(EMPTY_CUT_TAGS):
        if len(el):
            continue
        if el.text is None and el.tail and el.tail.strip():
            empty.append(el)
        elif el.tag == "div" and SUBHEAD_CLASS.search(el.get("class") or "") and _between_paragraphs(el):
            el.tag = "h3"
    for el in empty:
        el.drop_tag()
    mark_seams(root)


# Elements a browser sets apart from the text around them.
BLOCK_TAGS = ("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "article",
              "section", "aside", "header", "footer", "nav", "main", "figure", "figcaption", "blockquote",
              "table", "tr", "td", "th", "pre", "address", "hr", "br", "form", "fieldset", "details", "summary")


def _set(el, attribute: str, value: str) -> None:
    # lxml refuses to set a string with a control character, which its HTML parser
    # nevertheless keeps in a page's text: such a seam stays unmarked.
    try:
        setattr(el, attribute, value)
    except ValueError:
        pass


def _mark_before(el) -> None:
    """A SEAM after the text just before `el` (its parent's text or its previous
    sibling's tail)."""
    prev = el.getprevious()
    if prev is None:
        parent = el.getparent()
        if parent is not None and parent.text and not parent.text.isspace():
            _set(parent, "text", parent.text + SEAM)
    elif prev.tail and not prev.tail.isspace():
        _set(prev, "tail", prev.tail + SEAM)


def mark_seams(root) -> None:
    """Marks where a browser separates words that trafilatura may run together: the
    whitespace on either side of an inline element, and the edges of a block element
    that has text beside it (a related-story box inside a link, followed by the story's
    next sentence)."""
    for el in root.iter(INLINE_TAGS):
        tail = el.tail
        if tail and tail[0].isspace() and not tail.isspace():
            _set(el, "tail", SEAM + tail)
        prev = el.getprevious()
        before = el.getparent().text if prev is None and el.getparent() is not None else (
            prev.tail if prev is not None else None)
        if before and before[-1].isspace() and not before.isspace():
            _mark_before(el)
    for el in root.iter(BLOCK_TAGS):
        if el.tail and not el.tail.isspace():
            _set(el, "tail", SEAM + el.tail)
        _mark_before(el)


def _between_paragraphs(el) -> bool:
    before, after = el.getprevious(), el.getnext()
    return before is not None and after is not None and before.tag == "p" and after.tag == "p"


# The cascade's steps: precision mode without trafilatura's own fallback extractors, with
# them, and its default (balanced) mode with them.
PRECISION_FAST = "precision-fast"
PRECISION = "precision"
BALANCED = "balanced"
CASCADE_MODES = {PRECISION_FAST: {"precision": True, "fast": True}, PRECISION: {"precision": True}, BALANCED: {}}


@lru_cache(maxsize=None)
def _trafilatura_options(step: str) -> Extractor:
    """trafilatura's options for one step of the cascade, built once rather than read from
    its configuration on every call. The body tree is all that is read of the result:
    with the "python" output format trafilatura would also render it as text. No url:
    trafilatura would resolve every link of the page, most of which it then drops; only
    the kept ones are resolved, in body_blocks."""
    from trafilatura.settings import Extractor

    return Extractor(output_format="txt", with_metadata=False, comments=False, tables=True, links=True,
                     images=False, **CASCADE_MODES[step])


def first_pass_chars(root, url: str) -> int:
    """Characters of body text that extraction's first step finds on the page (the
    article gate asks, before it calls a page a stub)."""
    return sum(len(block["text"]) for block in _trafilatura_blocks(root, url, PRECISION_FAST))


def _trafilatura_blocks(root, url: str, step: str) -> list[dict]:
    import trafilatura

    doc = trafilatura.bare_extraction(root, options=_trafilatura_options(step))
    return body_blocks(doc.body if doc is not None else None, url)


def warm_up() -> None:
    """Imports the libraries extraction uses and builds the cascade's options: what the
    worker pool's fork server does once for all its workers."""
    import htmldate  # noqa: F401
    import readability  # noqa: F401 (the body vote's second opinion, on doubtful pages)
    import trafilatura.json_metadata  # noqa: F401

    for step in CASCADE_MODES:
        _trafilatura_options(step)


def _jsonld_article_body(root, objects: list[dict] | None = None) -> str | None:
    for obj in jsonld_objects(root) if objects is None else objects:
        body = obj.get("articleBody")
        if _types(obj) & ARTICLE_TYPES and isinstance(body, str) and body.strip():
            return body
    return None


def _headline_candidates(root, record: dict) -> list[str]:
    elements = _metadata_elements(root, ("h1", "title"))
    titles = [record.get("title")] + [h.text_content() for h in elements["h1"][:3]]
    if elements["title"]:
        titles.append(elements["title"][0].text_content())
    return [t for t in titles if t and t.strip()]


def extract_article(html: str, url: str, *, preclean: Callable | None = None, hints: dict | None = None,
                    page_data_max_bytes: int = page_data.DEFAULT_MAX_BYTES, rendered: bool = False) -> dict:
    """The record of a page, its body in record[WORK].blocks. `rendered`: the page is as a
    browser built it (newscrawl/render.py)."""
    root = parse_html(html)
    objects = jsonld_objects(root)  # read once for every metadata field and the body
    record = extract_metadata(root, url, hints, objects)
    titles = _headline_candidates(root, record)
    jsonld_body = _jsonld_article_body(root, objects)
    # The scripts, for the page's data: the pre-clean may remove an element that holds one.
    scripts = list(root.iter("script"))
    # Everything read from the untouched page is read by now, so the pre-clean may
    # work on the tree itself rather than on a copy.
    removed: Counter = Counter()
    dom_texts: list = []

    def cleaned(tree) -> None:
        if preclean:
            result = preclean(tree) or {}
            removed.update(result)
            dom_texts.extend(getattr(result, "texts", None) or [])  # what the pre-clean removed, for the audit

    def from_page_data(chars: int) -> tuple[list[dict], str] | None:
        """The body in the data the page's scripts carry, when it has more than `chars`
        characters, cleaned as a page is (the same pre-clean, then its blocks)."""
        found = page_data.find_article(scripts, titles=titles, known=[record.get("description") or ""],
                                       jsonld_body=jsonld_body, max_bytes=page_data_max_bytes)
        if found is None or found.chars <= chars:
            return None
        cleaned(found.fragment)
        return fragment_blocks(found.fragment, url), producer_name(found.source)

    cleaned(root)
    blocks, producer = extract_body(root, url, titles, jsonld_body, from_page_data)
    record["cleaning"] = {"removed": dict(removed), "extractor": producer}
    record[WORK] = Work(blocks=blocks, dom_removed=dom_texts,
                        body_note=None if producer.startswith(PAGE_DATA) or producer == page_data.JSONLD else
                        body_note(blocks, page_data.oversized(scripts, page_data_max_bytes), page_data_max_bytes,
                                  rendered))
    return record


PAGE_DATA = "page-data:"


def producer_name(source: str) -> str:
    """`cleaning.extractor` for a body read from the page's data: "page-data:" and where
    it was (`__NEXT_DATA__`, `window.__INITIAL_STATE__`...); the JSON-LD articleBody keeps
    the name the vote gives it."""
    return source if source == page_data.JSONLD else PAGE_DATA + source


def body_note(blocks: list[dict], oversized: int, max_bytes: int, rendered: bool = False) -> str | None:
    """Why a body is short, when it is (fewer words than a whole article has): what the
    page's HTML held (as the browser built it, when `rendered`), and that the data its
    scripts carry held no article."""
    from pipelines import body_vote

    words = body_vote.word_count(blocks)
    if words >= body_vote.SHORT_WORDS:
        return None
    html = "the page as the browser built it" if rendered else "the page's HTML"
    note = f"{html} holds {words} words of body text, and the data its scripts carry no article"
    if oversized:
        note += f" ({oversized} script(s) longer than NEWSCRAWL_PAGE_DATA_MAX_BYTES, {max_bytes} bytes, not read)"
    if not rendered:
        note += "; if a browser shows the article, the page's scripts build it: give the outlet's record render = true"
    return note


PROVENANCE = ("outlet", "fetched_at", "discovered_via", "discovered_from", "http_status")


def extract_raw(raw: dict, outlet, options: dict | None = None) -> dict:
    """The extract stage, as a pure function: a RawArticle (as a dict) to a record, whose
    body is in record[WORK].blocks for the decruft stage. `options["page_data_max_bytes"]`:
    NEWSCRAWL_PAGE_DATA_MAX_BYTES."""
    from pipelines.dom_walker import preclean_dom

    url = raw.get("final_url") or raw["url"]
    record = {"url": url, **{k: raw.get(k) for k in PROVENANCE}}
    record.update(extract_article(
        raw["html"], url, preclean=lambda tree: preclean_dom(tree, outlet), hints=raw.get("hints"),
        page_data_max_bytes=(options or {}).get("page_data_max_bytes", page_data.DEFAULT_MAX_BYTES),
        rendered=bool(raw.get("rendered"))))
    return record


def extract_options(settings) -> dict:
    """The settings the extract stage reads, for extract_raw's `options`."""
    return {"page_data_max_bytes": settings.getint("NEWSCRAWL_PAGE_DATA_MAX_BYTES", page_data.DEFAULT_MAX_BYTES)}


class ExtractPipeline:
    """The extract stage's adapter: each RawArticle, its HTML parsed again, extracted in the
    worker pool (pipelines/runner.py)."""

    def __init__(self, crawler):
        from pipelines.runner import runner_for

        self.crawler = crawler
        self.runner = runner_for(crawler)
        self.options = extract_options(crawler.settings)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    async def process_item(self, item):
        from itemadapter import ItemAdapter

        return await self.runner.run(extract_raw, ItemAdapter(item).asdict(), self.crawler.spider.outlet,
                                     self.options)
