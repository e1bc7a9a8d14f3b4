"""The words a reader of a page can see: what a record's words are checked against.

A browser renders inline elements (a, b, span, em, ...) run together with their neighbours
and sets block elements (p, div, li, br, td, ...) apart. The words of a page are the `\\w+`
tokens of that rendering, of its <title> and <meta> contents and of its JSON-LD (the
publisher's own copy of the text, which extraction may fall back on). A record word that
is not among them was made by the cleaner: a word split at an inline element ("priva t
ely") or two words glued together.
"""

from __future__ import annotations

import json
import re
import unicodedata

import lxml.html
from lxml import etree

WORD = re.compile(r"\w+")
# Elements that a browser lays out apart from their neighbours (HTML's block-level and
# table elements, line breaks, form controls).
SEPARATE = frozenset("""address article aside blockquote br dd details dialog div dl dt fieldset
figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary
table tbody td tfoot th thead tr ul img iframe video audio picture source input button select
textarea option label caption col colgroup menu html body head title meta link svg""".split())
UNSEEN = frozenset(("script", "style", "noscript", "template"))


def _fold(text: str) -> str:
    # What normalisation may change without changing a word: composition, case, soft
    # hyphens and zero-width characters.
    text = unicodedata.normalize("NFKC", text)
    return re.sub("[\u00ad\u200b\u200c\u200d\u2060\ufeff]", "", text).casefold()


def _hidden(el) -> bool:
    # A tooltip or screen-reader text: shown apart from the words around it, if at all.
    return el.get("aria-hidden") == "true" or el.get("hidden") is not None or el.get("role") == "presentation"


def rendered_text(root) -> str:
    parts: list[str] = []
    # (node, entering): an explicit stack, as comments hold tails that iterwalk skips.
    stack = [(root, True)]
    while stack:
        node, entering = stack.pop()
        tag = node.tag.lower() if isinstance(node.tag, str) else None
        if not entering:
            if tag in SEPARATE or _hidden(node):
                parts.append("\n")
            if node is not root and node.tail:
                parts.append(node.tail)
            continue
        if tag is None or tag in UNSEEN:
            if node is not root and node.tail:
                parts.append(node.tail)
            continue
        if tag in SEPARATE or _hidden(node):
            parts.append("\n")
        if node.text:
            parts.append(node.text)
        stack.append((node, False))
        stack.extend((child, True) for child in reversed(node))
    return "".join(parts)


def _jsonld_strings(root) -> list[str]:
    out: list[str] = []

    def walk(obj):
        if isinstance(obj, str):
            out.append(obj)
        elif isinstance(obj, list):
            for o in obj:
                walk(o)
        elif isinstance(obj, dict):
            for v in obj.values():
                walk(v)

    for script in root.iter("script"):
        if (script.get("type") or "").lower() == "application/ld+json" and script.text:
            try:
                walk(json.loads(script.text))
            except ValueError:
                continue
    return out


def _page_data(root) -> list[str]:
    # A page built by JavaScript: its body is in the data its scripts build the page from.
    from newscrawl.page_data import find_article

    found = find_article(root.iter("script"))
    return [rendered_text(found.fragment)] if found is not None else []


def page_words(html: str) -> set[str]:
    root = lxml.html.fromstring(html)
    texts = [rendered_text(root)] + _jsonld_strings(root) + _page_data(root)
    texts += [el.get("content") or "" for el in root.iter("meta")]
    texts += [lxml.html.fromstring(t).text_content() for t in _jsonld_strings(root) if "<" in t and ">" in t]
    return {w for t in texts for w in WORD.findall(_fold(t))}


def foreign_words(text: str, html: str) -> list[str]:
    """The words of `text` that the page does not show."""
    seen = page_words(html)
    return [w for w in WORD.findall(_fold(text)) if w not in seen]
