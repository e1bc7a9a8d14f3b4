"""Deciding between body extractors, block by block.

The cheap first result (trafilatura, precision mode) is kept unless it looks doubtful.
Then trafilatura's default mode and readability-lxml run too, and each block of the
wider result stays if a second extractor carries the same text: a 2-of-3 vote on
4-token shingles, so a block survives differences in whitespace and punctuation.
Where all of them come back nearly empty, the JSON-LD articleBody (the publisher's own
copy of the text) is the last resort.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import trafilatura
from lxml import etree

from newscrawl.page_data import JSONLD

TOKEN = re.compile(r"\w+")
SHINGLE = 4
# Below this many words a body is more likely a teaser, a paywall stub or a failed
# extraction than a whole article.
SHORT_WORDS = 120
# Shares of a result that make it look like a link listing rather than prose.
LISTING_LINK_SHARE = 0.35
LISTING_ITEM_SHARE = 0.6
# A block is carried by another extractor when this share of its shingles is there.
SUPPORT = 0.5
# A block mostly made of link text is navigation, whoever keeps it.
LINK_BLOCK_SHARE = 0.5


def _tokens(text: str) -> list[str]:
    return TOKEN.findall(text.casefold())


def _shingles(text: str) -> list[str]:
    tokens = _tokens(text)
    return [" ".join(tokens[i:i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))]


def shingle_set(texts: Iterable[str]) -> set[str]:
    return {s for t in texts for s in _shingles(t)}


def supported(text: str, other: set[str]) -> bool:
    own = _shingles(text)
    return bool(own) and sum(s in other for s in own) >= SUPPORT * len(own)


def chars(blocks: list[dict]) -> int:
    return sum(len(b["text"]) for b in blocks)


# The precision pass looks truncated when it keeps less than this share of the characters
# of the page's story-like paragraphs (pipelines.extract.story_paragraph_chars).
TRUNCATED_SHARE = 0.5


def word_count(blocks: list[dict]) -> int:
    return sum(len(_tokens(b["text"])) for b in blocks)


def doubtful(blocks: list[dict]) -> bool:
    """A result worth a second opinion: short, or mostly links or list items."""
    if word_count(blocks) < SHORT_WORDS:
        return True
    chars = sum(len(b["text"]) for b in blocks)
    link_share = sum(b["link_chars"] for b in blocks) / chars
    item_share = sum(b["kind"] == "li" for b in blocks) / len(blocks)
    return link_share > LISTING_LINK_SHARE or item_share > LISTING_ITEM_SHARE


# What readability-lxml deletes before it reads a page: its cleaner kills scripts, styles,
# links, comments and processing instructions, then summary() drops noscript elements.
# Deleted before its cleaner runs, they are not searched for links to rewrite (a page's
# inline CSS alone can be hundreds of kilobytes). Each deletion keeps the element's tail,
# so deleting them earlier leaves the same tree.
READABILITY_DELETES = ("script", "style", "link", "noscript", etree.Comment, etree.ProcessingInstruction)


def readability_text(root) -> str:
    """readability-lxml's article text, or "" when it finds none.

    readability reads its own parse of the serialised page: parsed here the way it
    parses it (readability.htmls.build_doc), its deletions made, and handed over as a
    tree (readability-lxml 0.9 takes one)."""
    import lxml.html
    from readability import Document
    from readability.htmls import build_doc
    from readability.readability import Unparseable

    try:
        page, _ = build_doc(lxml.html.tostring(root, encoding="unicode"))
        for el in list(page.iter(*READABILITY_DELETES)):
            el.drop_tree()
        summary = Document(page).summary(html_partial=True)
    except (Unparseable, ValueError, TypeError, etree.LxmlError):
        return ""
    return lxml.html.fromstring(summary).text_content() if summary.strip() else ""


def _versioned(name: str) -> str:
    if name == "trafilatura":
        return f"trafilatura-{trafilatura.__version__}"
    if name == "readability":
        from importlib.metadata import version

        return f"readability-lxml-{version('readability-lxml')}"
    return name


def vote(primary: list[dict], wide: list[dict], readability_text: Callable[[], str],
         jsonld_body: str | None, truncated: bool = False) -> tuple[list[dict], str]:
    """Blocks of the wider trafilatura result that a second extractor agrees on.

    `primary` (precision mode) and the readability text are the two other voters; the
    wider result provides the blocks, so the output keeps its kinds and links.
    `readability_text` gives that text; it is asked for only when some block's fate
    depends on it (readability takes tens of milliseconds on a large page).
    `truncated`: the precision run looks cut short (a body split by ad slots or a "read
    more" block); then readability's word adds prose blocks beyond its stretch too.
    """
    primary_set = shingle_set(b["text"] for b in primary)
    in_primary = [supported(b["text"], primary_set) for b in wide]
    # Readability's word alone adds a block only inside the stretch the precision run
    # kept (a paragraph it dropped mid-article), or when that run found almost nothing;
    # outside it, the blocks both wider extractors keep are mostly related links.
    first = in_primary.index(True) if any(in_primary) else len(wide)
    last = len(wide) - 1 - in_primary[::-1].index(True) if any(in_primary) else -1
    starved = word_count(primary) < SHORT_WORDS
    readability_decides = [
        not in_primary[i]
        and (starved or ((truncated or first < i < last) and b["link_chars"] <= LINK_BLOCK_SHARE * len(b["text"])))
        for i, b in enumerate(wide)
    ]
    readability_set = shingle_set([readability_text()]) if any(readability_decides) else set()
    voted = [
        b for i, b in enumerate(wide)
        if in_primary[i] or (readability_decides[i] and supported(b["text"], readability_set))
    ]
    if truncated and 0 <= last < len(wide) - 1:
        taken = {id(b) for b in voted}
        voted += [b for b in continuation(wide[last + 1:]) if id(b) not in taken]
        order = {id(b): i for i, b in enumerate(wide)}
        voted.sort(key=lambda b: order[id(b)])
    # Precision-mode blocks the wider run lost (it can pick another container) stay.
    wide_set = shingle_set(b["text"] for b in voted)
    voted += [b for b in primary if not supported(b["text"], wide_set)]
    name = (f"vote({_versioned('trafilatura')}:precision,{_versioned('trafilatura')},"
            f"{_versioned('readability')})")
    best = max(word_count(voted), word_count(primary))
    if jsonld_body and len(_tokens(jsonld_body)) > max(2 * best, SHORT_WORDS):
        return text_blocks(jsonld_body), JSONLD
    if word_count(voted) < word_count(primary):
        return primary, f"{_versioned('trafilatura')}:precision"
    return voted, name


# A paragraph of story prose: this long, and not mostly link text.
PROSE_CHARS = 100
# A subheading: a short block without links, followed by prose.
HEADING_CHARS = 90


def _prose(block: dict) -> bool:
    return (block["kind"] in ("p", "quote") and len(block["text"]) >= PROSE_CHARS
            and block["link_chars"] <= LINK_BLOCK_SHARE * len(block["text"]))


def continuation(after: list[dict]) -> list[dict]:
    """The rest of a story that the precision run cut short: the run of prose paragraphs
    (and the subheadings between them) that follows its last block in the wider result,
    up to the first block that is neither (a link list, a teaser, a form's label), where
    what follows is related stories or comments rather than the article."""
    out: list[dict] = []
    pending: list[dict] = []  # subheadings kept only once prose follows them
    for block in after:
        if _prose(block):
            out += pending + [block]
            pending = []
        elif (block["kind"] in ("h", "p") and len(block["text"]) <= HEADING_CHARS and not block["link_chars"]
              and not pending):
            pending.append(block)
        else:
            break
    return out


def text_blocks(text: str) -> list[dict]:
    """Plain text (paragraphs split on line breaks) as blocks without links."""
    return [{"kind": "p", "text": " ".join(line.split()), "links": [], "link_chars": 0}
            for line in text.splitlines() if line.strip()]


def _normalised(text: str) -> str:
    return " ".join(_tokens(text))


# A kicker: the section or format label some pages print above the headline
# ("Review", "TECH", "Breaking news"), at most this many words.
KICKER_WORDS = 3


def drop_repeated_headline(blocks: list[dict], titles: list[str]) -> list[dict]:
    """Drops leading blocks that repeat the headline: it is metadata, not body text; so
    is a kicker printed just above it.

    A block counts as the headline when its words equal a title candidate, or make up
    most of one from its start (a page title followed by " | Site").
    """
    candidates = {_normalised(t) for t in titles} - {""}

    def is_headline(block: dict) -> bool:
        head = _normalised(block["text"])
        return bool(head) and any(head == t or (t.startswith(head + " ") and len(head) > 0.6 * len(t))
                                  for t in candidates)

    out = list(blocks)
    # A kicker goes only with the headline under it.
    if len(out) > 1 and len(_tokens(out[0]["text"])) <= KICKER_WORDS and not is_headline(out[0]) \
            and is_headline(out[1]):
        out.pop(0)
    for _ in range(2):
        if out and is_headline(out[0]):
            out.pop(0)
        else:
            break
    return out
