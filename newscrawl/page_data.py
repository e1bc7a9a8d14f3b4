"""The article from the data a page ships for its scripts, read without running them.

A page built by JavaScript (Next.js, Nuxt, a React or Vue application) may arrive with
an empty body: the article is in the data its scripts build the page from. That data is
read here as JSON, and only as JSON: no script is run or evaluated.

Where the data is (`page_blobs`):

- `<script type="application/json">` elements: Next.js's `__NEXT_DATA__`, Nuxt 3's
  `__NUXT_DATA__` (devalue's flat array, resolved into the value it encodes), any other;
- a JSON literal assigned in a script, `window.__INITIAL_STATE__ = {...};`,
  `window.__APOLLO_STATE__ = {...}`, `Fusion.globalContent = {...}`, `var data =
  JSON.parse("...")`: the literal after the `=` read with json.JSONDecoder.raw_decode;
- Next.js's app router, `self.__next_f.push([1, "..."])`: the pushed strings joined into
  the React server component stream, whose rows are JSON values or text chunks;
- the JSON-LD `articleBody`, read by the caller (`jsonld_body`);
- failing all those, HTML in a JSON string literal anywhere in a script (the state of a
  Nuxt 2 page is a function call, not a literal, but its strings are JSON strings).

A script longer than `max_bytes` (NEWSCRAWL_PAGE_DATA_MAX_BYTES) is not read at all.

Where the article is in that data (`find_article`) is told by its shape, not by any
site's key names: an HTML string with paragraphs; a string of plain prose; a list of
text blocks (strings, or objects that each hold a paragraph's text, or its parts as
spans), leaving out the blocks whose type says image, video, embed, advert, related
content and the like. A list of teasers (items each with a link and a short title) is
no body, nor is a text that is the page's own title or description. Of the candidates,
those near the page's headline (one of its titles is a string of an object at most
TITLE_LEVELS above them) come first; then the one with the most prose, measured as the
article gate measures paragraphs (newscrawl.gate.prose_chars).

The article found is an HTML fragment (`PageData.fragment`, a <div>) that the extract
stage cleans as it cleans any page.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from newscrawl.gate import MIN_PARAGRAPH_CHARS, paragraph_text_chars, prose_chars

# Scripts longer than this (UTF-8 bytes) are not read: the data of a real article page
# is well under 1 MB.
DEFAULT_MAX_BYTES = 2_000_000

# A JSON literal assigned to a name or a property: `window.__X__ = {`, `Fusion.globalContent={`,
# `var __INITIAL_STATE__ = {`, `x = JSON.parse("`. The value is read from the match's end.
ASSIGNMENT = re.compile(
    r"(?:^|[\s;,(){}])(?:(?:var|let|const)\s+)?((?:[A-Za-z_$][\w$]*)(?:\.[A-Za-z_$][\w$]*|\[\s*['\"][\w$]+['\"]\s*\])*)"
    r"\s*=\s*(JSON\.parse\(\s*)?(?=[\[{\"])")
# A blob is named by what it is assigned to, cut to this length (it is said in cleaning.extractor).
MAX_NAME = 80
NEXT_F_PUSH = re.compile(r"self\.__next_f\.push\(\s*(?=\[)")
# A row of a React server component stream: a hexadecimal id, a colon and an optional tag
# (T: a text chunk of the given length in UTF-8 bytes; I, HL, E...: a JSON value follows).
FLIGHT_ROW = re.compile(r"([0-9a-fA-F]*):([A-Z]{0,2})")
# A JSON string literal in a script, long enough to be an article body (and its HTML).
JSON_STRING = re.compile(r'"((?:[^"\\]|\\.){200,})"', re.S)
HTML_PARAGRAPH = re.compile(r"<p[\s>/]|\\u003cp[\s>\\]", re.I)
HTML_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9]*)\b[^<>]*>")
# Tags whose presence makes a string HTML rather than text that mentions "<".
HTML_TAGS = frozenset("p br a b i em strong span div h1 h2 h3 h4 h5 h6 ul ol li blockquote figure figcaption "
                      "img iframe section article sup sub u s small table tr td title meta link script style".split())
# Markup of a page's head: never an article body.
HEAD_HTML = re.compile(r"<(?:title|meta)[\s>/]", re.I)
# Code a body's HTML may embed (a tweet's script, a chart's style): not text.
CODE_HTML = re.compile(r"<(script|style|noscript|template)\b.*?</\1\s*>", re.I | re.S)
BLOCK_HTML = re.compile(r"<(?:p|h[1-6]|blockquote|ul|ol|li|div|section|article|table)[\s>/]", re.I)

# Keys of an object that hold its own text, matched case-insensitively; also any key
# ending in "html" or "text" (contentHtml, bodyText, plainText).
TEXT_KEYS = frozenset(("text", "html", "__html", "content", "body", "value", "markup", "paragraph",
                       "children", "plaintext"))
# Where an object says what it is: an element's tag name first (a tree of elements, as a
# React or hast tree writes them, marks every element "element" as its type).
TYPE_KEYS = ("tagName", "nodeName", "type", "_type", "__typename", "nodeType", "nodetype", "kind", "blockType",
             "component", "_template")
# Block types that are not the story's text.
NOT_TEXT_TYPE = re.compile(
    r"image|img|photo|picture|video|audio|podcast|embed|iframe|gallery|slideshow|advert|(?:^|[^a-z])ads?(?:$|[^a-z])"
    r"|adslot|promo|teaser|related|recommend|newsletter|social|tweet|twitter|instagram|facebook|youtube|tiktok"
    r"|caption|credit|byline|author|share|widget|media|figure|poll|quiz|signup|subscribe|paywall|script|code"
    r"|^aside$|^nav$|^footer$",
    re.I)
HEADING_TYPE = re.compile(r"head|title|^h[1-6]$", re.I)
QUOTE_TYPE = re.compile(r"quote", re.I)
# Span types: a list of these is one paragraph's parts, run together.
INLINE_TYPE = re.compile(
    r"^(?:span|text|link|hyperlink|.*[-_]?link|mark|strong|em|emphasis|bold|italic|underline|inline|fragment|"
    r"br|linebreak|hard_?break|sup|sub|abbr|strikethrough|a|b|i|u|s|q|small|cite|time|font|del|ins)$", re.I)
URL_LIKE = re.compile(r"^(?:https?:)?//|^/[\w-]|^[a-z][a-z0-9+.-]*:\S")
# Words of a key (camelCase, snake_case, kebab-case) under which a page's data keeps what
# is not the article: configuration, labels and notices, navigation, advertising, other
# stories, tags, authors' profiles. Nothing under such a key is a body.
NOT_BODY_WORDS = frozenset("""
config configuration configs settings setting flags flag options env environment i18n translations translation
locale locales labels label strings messages dictionary consent consents cookie cookies gdpr privacy tracking
analytics ad ads advert adverts advertising advertisement gpt prebid dfp paywall subscription subscriptions
newsletter newsletters nav navigation menu menus footer header sidebar breadcrumb breadcrumbs seo meta metadata
tag tags topic topics related recommended recommendation recommendations recirc recirculation teaser teasers
promo promos promotion trending popular latest comment comments author authors bio biography profile byline
contributor contributors""".split())
KEY_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
IDENTIFIER = re.compile(r"^[A-Za-z_$][\w$.-]{0,60}$")

# A string this long may be a whole body.
MIN_BODY_STRING = 200
# A block with this many paragraphs of HTML is a whole body, not one of its blocks.
WHOLE_BODY_PARAGRAPHS = 3
# Plain text in one paragraph is a description, a caption or a profile, unless this long.
LONE_PARAGRAPH_CHARS = 1000
# Levels of objects above a candidate where the page's headline is looked for.
TITLE_LEVELS = 3
# Bounds on the walk of one blob, so that no page costs more than a few walks of its data.
MAX_NODES = 300_000
MAX_DEPTH = 64
# Candidates measured exactly (parsed as HTML) after the estimate.
MEASURED = 6
# A candidate near the headline wins over longer ones when it has this share of the longest's text.
TITLED_SHARE = 0.25
# Two candidates this close in length are taken for two copies of the text.
SAME_TEXT_SHARE = 0.9
# A teaser's title: short; a teaser list: this share of its items are teasers.
TEASER_TITLE_CHARS = 200
TEASER_SHARE = 0.5


# The source name of the JSON-LD articleBody, the publisher's own copy of the text (the
# name the extract stage's vote gives it too, pipelines/body_vote.py).
JSONLD = "jsonld-articleBody"


@dataclass(frozen=True)
class Blob:
    """One piece of a page's data: where it was (`source`) and its value."""
    source: str
    value: object


@dataclass(frozen=True)
class PageData:
    """The article found in a page's data: where (`source`), as an HTML fragment (a
    <div>), and its article-like text in characters."""
    source: str
    fragment: object
    chars: int


def _too_big(text: str, max_bytes: int) -> bool:
    return len(text) > max_bytes or (4 * len(text) > max_bytes and len(text.encode("utf-8", "replace")) > max_bytes)


def _loads(text: str):
    try:
        return json.loads(text, strict=False)
    except (ValueError, RecursionError):
        return None


def _raw_decode(text: str, pos: int):
    """The JSON value at `pos` and the position after it, or (None, pos)."""
    try:
        return json.JSONDecoder(strict=False).raw_decode(text, pos)
    except (ValueError, RecursionError):
        return None, pos


def _devalue(flat: list):
    """The value a devalue payload (Nuxt 3's `__NUXT_DATA__`: a flat array whose objects and
    arrays hold indices into it) encodes; wrappers (["Reactive", i], ["Set", ...]) unwrapped
    to what they hold. Each index is resolved once (a shared value is shared)."""
    resolved: dict[int, object] = {}

    def at(index, depth: int = 0):
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(flat) or depth > MAX_DEPTH:
            return None
        if index in resolved:
            return resolved[index]
        value = flat[index]
        resolved[index] = None  # a cycle resolves to None
        if isinstance(value, list):
            if value and isinstance(value[0], str):  # a wrapper: ["Reactive", i], ["Set", i, j], ["Date", "..."]
                out = [at(i, depth + 1) for i in value[1:] if isinstance(i, int)]
                out = out[0] if len(out) == 1 else out
            else:
                out = [at(i, depth + 1) for i in value]
        elif isinstance(value, dict):
            out = {k: at(i, depth + 1) for k, i in value.items()}
        else:
            out = value
        resolved[index] = out
        return out

    return at(0)


def _is_devalue(value) -> bool:
    return (isinstance(value, list) and len(value) > 1 and isinstance(value[0], list) and len(value[0]) == 2
            and isinstance(value[0][0], str) and isinstance(value[0][1], int))


def _react_elements(value, depth: int = 0):
    """A server component row's React elements, `["$", tag, key, props]`, as objects
    `{"tagName": tag, **props}`, the shape of an element tree elsewhere."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, list):
        if len(value) == 4 and value[0] == "$" and isinstance(value[1], str) and isinstance(value[3], dict):
            return {"tagName": value[1], **{k: _react_elements(v, depth + 1) for k, v in value[3].items()}}
        return [_react_elements(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {k: _react_elements(v, depth + 1) for k, v in value.items()}
    return value


def flight_rows(stream: str) -> list:
    """The values of a React server component stream's rows: JSON values, and text chunks
    as strings. A row that does not read is skipped to the next line."""
    values: list = []
    pos, end = 0, len(stream)
    while pos < end:
        row = FLIGHT_ROW.match(stream, pos)
        if row is None or not row.group(1):
            newline = stream.find("\n", pos)
            if newline < 0:
                break
            pos = newline + 1
            continue
        pos = row.end()
        if row.group(2) == "T":
            comma = stream.find(",", pos)
            try:
                length = int(stream[pos:comma], 16) if comma > pos else -1
            except ValueError:
                length = -1
            if length < 0:
                continue
            # The length is in UTF-8 bytes; a character is at least one.
            chunk = stream[comma + 1:comma + 1 + length].encode("utf-8", "replace")[:length].decode("utf-8", "ignore")
            values.append(chunk)
            pos = comma + 1 + len(chunk)
            continue
        value, after = _raw_decode(stream, pos)
        if after == pos:
            newline = stream.find("\n", pos)
            pos = end if newline < 0 else newline + 1
            continue
        values.append(_react_elements(value))
        pos = after
        while pos < end and stream[pos] in "\r\n":
            pos += 1
    return values


def _assigned(text: str) -> Iterator[tuple[str, object]]:
    """(name, value) of each JSON literal assigned in a script's text."""
    pos = 0
    while True:
        match = ASSIGNMENT.search(text, pos)
        if match is None:
            return
        name, parsed = match.group(1), match.group(2)
        value, after = _raw_decode(text, match.end())
        if parsed and isinstance(value, str):  # JSON.parse("..."): the string holds the JSON
            value = _loads(value)
        if after > match.end() and isinstance(value, (dict, list)):
            yield name[:MAX_NAME], value
            pos = after
        else:
            pos = match.end()


def page_blobs(scripts: Iterable, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[list[Blob], list]:
    """The JSON data in a page's <script> elements, each piece with where it was, and the
    scripts that hold no JSON of their own to read (for `script_strings`). JSON-LD is left
    to its own reader."""
    blobs: list[Blob] = []
    unread: list = []
    flight: list[str] = []
    for script in scripts:
        text = script.text
        kind = (script.get("type") or "").strip().lower()
        if not text or kind == "application/ld+json" or _too_big(text, max_bytes):
            continue
        if "json" in kind:
            value = _loads(text.strip())
            if value is not None:
                name = (script.get("id") or kind)[:MAX_NAME]
                blobs.append(Blob(name, _devalue(value) if _is_devalue(value) else value))
            continue
        if kind and "javascript" not in kind and kind not in ("module", "text/ecmascript"):
            continue  # a template, text/base64, a style: not data the page's scripts read as JSON
        found = False
        for push in NEXT_F_PUSH.finditer(text):
            value, _ = _raw_decode(text, push.end())
            if isinstance(value, list) and len(value) == 2 and value[0] == 1 and isinstance(value[1], str):
                flight.append(value[1])
                found = True
        if not found:
            for name, value in _assigned(text):
                blobs.append(Blob(name, value))
                found = True
        if not found:
            unread.append(script)
    if flight:
        blobs.append(Blob("self.__next_f", flight_rows("".join(flight))))
    return blobs, unread


def oversized(scripts: Iterable, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """How many of the scripts `page_blobs` leaves unread for their length (`max_bytes`)."""
    return sum(1 for script in scripts if script.text and _too_big(script.text, max_bytes)
               and (script.get("type") or "").strip().lower() != "application/ld+json")


def script_strings(scripts: Iterable) -> Iterator[str]:
    """HTML with paragraphs in the JSON string literals of scripts (a page whose state is
    a function call, not a JSON literal)."""
    for script in scripts:
        text = script.text
        if len(text) < MIN_BODY_STRING or not HTML_PARAGRAPH.search(text):
            continue
        for match in JSON_STRING.finditer(text):
            literal = match.group(1)
            if HTML_PARAGRAPH.search(literal):
                value = _loads(f'"{literal}"')
                if isinstance(value, str):
                    yield value


# --- what reads as an article -----------------------------------------------------


def _loose(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def is_html(text: str) -> bool:
    return any(tag.lower() in HTML_TAGS for tag in HTML_TAG.findall(text[:20000]))


def _visible(text: str) -> str:
    """A string's text as shown: tags removed, entities decoded, whitespace collapsed."""
    if "<" in text:
        text = HTML_TAG.sub(" ", CODE_HTML.sub(" ", text))
    if "&" in text:
        text = html.unescape(text)
    return " ".join(text.split())


def _prose(text: str) -> bool:
    """Whether a plain string reads as prose: words with spaces between them (or a script
    written without spaces), not a URL, an identifier or code."""
    if URL_LIKE.match(text) or "{" in text[:200] or "function(" in text[:400]:
        return False
    letters = sum(ch.isalpha() for ch in text[:2000])
    sample = min(len(text), 2000)
    return letters >= 0.6 * sample and (" " in text or any(ord(ch) > 0x2e80 for ch in text[:200]))


def _type_label(item: dict) -> str:
    for key in TYPE_KEYS:
        value = item.get(key)
        if isinstance(value, str) and value:
            return value
    return ""


def _text_key(key: str) -> bool:
    key = key.lower()
    return key in TEXT_KEYS or key.endswith(("html", "text"))


def _inline(items: list) -> bool:
    """Whether a list holds the parts of one paragraph (spans, links, marks) rather than
    paragraphs."""
    dicts = [i for i in items if isinstance(i, dict)]
    return bool(dicts) and all(INLINE_TYPE.match(_type_label(i) or "-") for i in dicts)


def _tag_of(label: str) -> str:
    if not label:
        return "p"
    return "li" if label.lower() == "li" else "h2" if HEADING_TYPE.search(label) else (
        "blockquote" if QUOTE_TYPE.search(label) else "p")


class _Blocks:
    """The blocks, (tag, text or HTML), that the lists and objects of one blob hold. Each
    node is read once: a list's blocks are its items', which every list above it reads
    again. `depth` is a node's depth in the blob, past MAX_DEPTH nothing is read."""

    def __init__(self):
        self.read: dict[int, list[tuple[str, str]]] = {}

    def of_item(self, item, depth: int) -> list[tuple[str, str]]:
        """A string is one block; an object its own text (under a text key), else the
        blocks of the lists and objects it holds; an object whose type says it is not the
        story's text holds none."""
        if isinstance(item, str):
            return [("p", item)] if item.strip() else []
        if not isinstance(item, (list, dict)) or depth > MAX_DEPTH:
            return []
        known = self.read.get(id(item))
        if known is None:
            known = self.read[id(item)] = (self.of_list(item, depth) if isinstance(item, list)
                                           else self._of_object(item, depth))
        return known

    def _of_object(self, item: dict, depth: int) -> list[tuple[str, str]]:
        label = _type_label(item)
        if label and NOT_TEXT_TYPE.search(label):
            return []
        for key, value in item.items():
            if isinstance(value, str) and value.strip() and _text_key(key):
                return [(_tag_of(label), value)]
        out: list[tuple[str, str]] = []
        for key, value in item.items():
            if isinstance(value, (list, dict)) and key not in TYPE_KEYS:
                out += self.of_item(value, depth + 1)
        return out

    def of_list(self, items: list, depth: int) -> list[tuple[str, str]]:
        if _inline(items):
            text = "".join(text for i in items for _, text in self.of_item(i, depth + 1))
            return [("p", text)] if text.strip() else []
        return [block for i in items for block in self.of_item(i, depth + 1)]


def _teaser(item) -> bool:
    """An item of a listing: an object with a link of its own and a short title beside it."""
    if not isinstance(item, dict):
        return False
    values = [v for v in item.values() if isinstance(v, str)]
    return any(URL_LIKE.match(v) for v in values) and any(
        len(v) <= TEASER_TITLE_CHARS and " " in v and not URL_LIKE.match(v) for v in values)


def _paragraph_chars(texts: Iterable[str]) -> int:
    return sum(n for n in map(len, texts) if n >= MIN_PARAGRAPH_CHARS)


@dataclass
class _Candidate:
    source: str
    kind: str  # "html", "text" or "blocks"
    value: object  # the string, or the blocks [(tag, text or HTML)]
    estimate: int
    near: int  # how close the page's headline is: TITLE_LEVELS in its own object, 0 not near


def _string_candidate(source: str, text: str, near: int) -> _Candidate | None:
    if len(text) < MIN_BODY_STRING:
        return None
    if "<" not in text and "&lt;" in text:  # HTML written with entities
        text = html.unescape(text)
    if is_html(text):
        if not BLOCK_HTML.search(text) or HEAD_HTML.search(text) or not _prose(_visible(text)):
            return None
        paragraphs = re.split(r"<(?:p|h[1-6]|li|blockquote|div|br)\b[^>]*>", text, flags=re.I)
        return _Candidate(source, "html", text, _paragraph_chars(map(_visible, paragraphs)), near)
    if not _prose(text):
        return None
    paragraphs = [" ".join(p.split()) for p in text.splitlines()]
    if source != JSONLD and len(text) < LONE_PARAGRAPH_CHARS and sum(
            len(p) >= MIN_PARAGRAPH_CHARS for p in paragraphs) < 2:
        return None  # one paragraph of plain text: a description, a caption, a profile
    return _Candidate(source, "text", text, _paragraph_chars(paragraphs), near)


def _readable(text: str) -> bool:
    """Whether a block's text may be shown as the story's: prose, or HTML of prose."""
    if is_html(text):
        return not HEAD_HTML.search(text) and _prose(_visible(text))
    return _prose(text)


def _blocks_candidate(source: str, items: list, near: int, blocks_of: _Blocks, depth: int) -> _Candidate | None:
    """A list of text blocks: its strings and objects (other items, say the element
    arrays of a React tree, are not blocks), less those that are not prose."""
    items = [i for i in items if isinstance(i, (str, dict))]
    if len(items) < 2 or sum(map(_teaser, items)) >= TEASER_SHARE * len(items):
        return None
    blocks = [(tag, text) for tag, text in blocks_of.of_list(items, depth) if _readable(text)]
    if len(blocks) < 2 or any(len(HTML_PARAGRAPH.findall(text)) >= WHOLE_BODY_PARAGRAPHS for _, text in blocks):
        return None  # a record's fields beside a whole body (its own candidate), not a body's blocks
    estimate = _paragraph_chars(_visible(text) for _, text in blocks)
    return _Candidate(source, "blocks", blocks, estimate, near) if estimate else None


def not_body_key(key) -> bool:
    """Whether a key (or a blob's name) names what is not the article (NOT_BODY_WORDS)."""
    return isinstance(key, str) and bool(IDENTIFIER.match(key)) and any(
        word.lower() in NOT_BODY_WORDS for word in KEY_WORD.findall(key))


def _titles_here(node: dict, titles: frozenset[str]) -> bool:
    return bool(titles) and any(isinstance(v, str) and len(v) <= 400 and _loose(v) in titles for v in node.values())


def _candidates(blob: Blob, titles: frozenset[str]) -> list[_Candidate]:
    """The article-like texts of one blob, each with whether the headline is near it."""
    out: list[_Candidate] = []
    if any(not_body_key(part) for part in blob.source.split(".")):
        return out
    blocks_of = _Blocks()
    # (node, levels of objects left within which a title was seen, depth)
    stack: list[tuple[object, int, int]] = [(blob.value, 0, 0)]
    nodes = 0
    while stack and nodes < MAX_NODES:
        node, near, depth = stack.pop()
        nodes += 1
        if isinstance(node, str):
            found = _string_candidate(blob.source, node, near)
            if found:
                out.append(found)
        elif depth < MAX_DEPTH and isinstance(node, dict):
            near = TITLE_LEVELS if _titles_here(node, titles) else max(near - 1, 0)
            stack.extend((v, near, depth + 1) for k, v in node.items()
                         if isinstance(v, (str, list, dict)) and not not_body_key(k))
        elif depth < MAX_DEPTH and isinstance(node, list):
            found = _blocks_candidate(blob.source, node, near, blocks_of, depth)
            if found:
                out.append(found)
            stack.extend((v, near, depth + 1) for v in node if isinstance(v, (str, list, dict)))
    return out


# --- the article as an HTML fragment ----------------------------------------------


def _fragment(candidate: _Candidate):
    """The candidate as an HTML fragment: a <div> holding its paragraphs."""
    import lxml.html
    from lxml import etree

    if candidate.kind == "html":
        markup = candidate.value
    elif candidate.kind == "text":
        markup = "".join(f"<p>{html.escape(line.strip())}</p>" for line in candidate.value.splitlines()
                         if line.strip())
    else:
        parts = []
        for tag, text in candidate.value:
            if is_html(text):
                parts.append(text if BLOCK_HTML.search(text) else f"<{tag}>{text}</{tag}>")
            else:
                parts.append(f"<{tag}>{html.escape(text)}</{tag}>")
        markup = "".join(parts)
    try:
        fragment = lxml.html.fragment_fromstring(markup, create_parent="div")
    except (ValueError, etree.ParserError):
        return None
    for el in list(fragment.iter("script", "style", "noscript", "template")):
        el.drop_tree()
    return fragment


FRAGMENT_TEXT_TAGS = ("p", "h2", "h3", "h4", "blockquote", "li")


def _paragraphs(fragment) -> int:
    return sum(1 for el in fragment.iter(FRAGMENT_TEXT_TAGS) if prose_chars(el))


def fragment_chars(fragment) -> int:
    """Article-like text of a fragment, measured as the gate measures a page's."""
    return max(paragraph_text_chars(fragment), sum(prose_chars(el) for el in fragment.iter(FRAGMENT_TEXT_TAGS)))


def find_article(scripts: Iterable, *, titles: Iterable[str] = (), known: Iterable[str] = (),
                 jsonld_body: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> PageData | None:
    """The article in the data of a page's <script> elements, or None. `titles`: the
    page's headline candidates (its h1, <title>, og:title); `known`: texts that are not
    the body (the page's description); `jsonld_body`: its JSON-LD articleBody."""
    title_keys = frozenset(k for k in map(_loose, titles) if len(k) >= 8)
    known_keys = frozenset(k for k in map(_loose, known) if k)
    blobs, unread = page_blobs(scripts, max_bytes)
    candidates: list[_Candidate] = []
    for blob in blobs:
        candidates += _candidates(blob, title_keys)
    if jsonld_body:
        found = _string_candidate(JSONLD, jsonld_body, TITLE_LEVELS)
        candidates += [found] if found else []
    for text in script_strings(unread):
        # The last resort, and the least telling: only a whole body.
        found = _string_candidate("script", text, 0)
        if found and len(HTML_PARAGRAPH.findall(text)) >= WHOLE_BODY_PARAGRAPHS:
            candidates.append(found)
    candidates = [c for c in candidates if c.estimate]
    if not candidates:
        return None
    # The few most likely, near the headline or not, measured exactly.
    nearest = sorted(candidates, key=lambda c: (c.near, c.estimate), reverse=True)[:MEASURED]
    longest = sorted(candidates, key=lambda c: c.estimate, reverse=True)[:MEASURED]
    measured: list[tuple[PageData, int]] = []
    for candidate in {id(c): c for c in nearest + longest}.values():
        fragment = _fragment(candidate)
        if fragment is None or _loose(fragment.text_content()) in known_keys:
            continue
        chars = fragment_chars(fragment)
        if chars >= MIN_BODY_STRING:
            measured.append((PageData(candidate.source, fragment, chars), candidate.near))
    if not measured:
        return None
    most = max(found.chars for found, _ in measured)
    # The nearer the headline the better, unless it is a small part of the longest (a
    # standfirst); then the longest; of copies of one text (nearly as long), the one in
    # the most paragraphs.
    ranked = [(near if found.chars >= TITLED_SHARE * most else 0, found) for found, near in measured]
    near, best = max(ranked, key=lambda entry: (entry[0], entry[1].chars))
    copies = [found for n, found in ranked if n == near and found.chars >= SAME_TEXT_SHARE * best.chars]
    return max(copies, key=lambda found: (_paragraphs(found.fragment), found.chars))


def article_chars(root, max_bytes: int = DEFAULT_MAX_BYTES) -> int:
    """Article-like text in the page's data (for the article gate, which knows no titles)."""
    found = find_article(root.iter("script"), max_bytes=max_bytes)
    return found.chars if found is not None else 0
