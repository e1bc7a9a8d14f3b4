"""The learner: per-outlet boilerplate learned from the outlet's own pages.

`BoilerplateLearner` counts, per outlet and across runs (in the state store), on how many
pages each block appears; `split_learned` removes the recurring blocks that behave like
a template (short at the body's edge, or link-heavy or promotional), never more than a
third of an article's words, so that paragraphs an outlet's stories share (a developing
story, wire copy) stay.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections import Counter

from pipelines.cruft_rules import (PUNCTUATION, REMOVED, STORY_PARAGRAPH_CHARS, Rules, fold, link_density,
                                   load_rules, text_category, weak_match)
from pipelines.words import word_count  # the words a record's `word_count` and validation count

logger = logging.getLogger(__name__)



# --------------------------------------------------------------------------- learned layer



BLOCK_KEY = "_key"  # a kept block's block_key, set by decruft_rules (pipelines/work.py)
PROMOTIONAL = "_promotional"  # a kept block reads as promotion (`mark_for_learning`)
WORDS = "_words"  # a kept block's word count (`mark_for_learning`)
LEARNED = "learned-boilerplate"  # the category of what the learned layer removes


def key_of(block: dict) -> str:
    return block.get(BLOCK_KEY) or block_key(block["text"])


_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")


def block_key(text: str) -> str:
    """A block's identity across pages: digits and spacing folded, so "Updated 3 hours
    ago" and "Updated 5 hours ago" are one block."""
    folded = PUNCTUATION.sub("", _DIGITS.sub("0", fold(text)))
    folded = _SPACE.sub(" ", folded).strip()
    return hashlib.blake2b(folded.encode("utf-8"), digest_size=10).hexdigest()


class BoilerplateLearner:
    """Counts, per outlet, on how many distinct pages each block appears, and says which
    blocks are boilerplate.

    A block is boilerplate when it was seen on at least `min_pages` pages AND on at least
    `min_share` of the outlet's pages since it first appeared (so a promotion added last
    week counts as fully as one that has run for years, while a quote shared by two
    stories never qualifies). Counts live in the state store: a cron run starts from
    what the last one learned. A block that is boilerplate by its counts is removed
    from a page only as `split_learned` says: when it behaves like a template there.
    """

    NS = "boilerplate"

    def __init__(self, store, outlet_name: str, *, min_pages: int = 3, min_share: float = 0.3,
                 prune_after: int = 5000):
        if min_pages < 3:
            raise ValueError("min_pages must be at least 3: a block on two pages is content")
        if prune_after < 1:
            raise ValueError("prune_after must be at least 1 page")
        self.store = store
        self.outlet = outlet_name
        self.min_pages = min_pages
        self.min_share = min_share
        self.prune_after = prune_after
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
        keys = sorted({key_of(b) for b in blocks if len(b.get("text", "").strip()) >= 3})
        with self._batch():
            index = self.store.incr(self.ns, "pages")
            first_seen = self.store.get_many(self.ns, [f"f:{k}" for k in keys])
            self.store.put_many(self.ns, [(page_key, str(index))]
                                + [(f"f:{k}", str(index)) for k in keys if f"f:{k}" not in first_seen])
            self.store.incr_many(self.ns, [f"c:{k}" for k in keys])
        if index % self.prune_after == 0:  # a long first crawl stays bounded too
            self.prune()
        return True

    def _is_boilerplate(self, count: int, first: int, pages: int) -> bool:
        return count >= self.min_pages and count / max(pages - first + 1, 1) >= self.min_share

    def prune(self) -> int:
        """Forgets what can no longer matter, so that the state stays bounded over months
        of crawls: blocks first seen more than `prune_after` pages ago that are not
        boilerplate now (one row per distinct paragraph otherwise grows forever), and the
        ids of pages counted more than `prune_after` pages ago. A block seen again after
        being forgotten starts counting afresh; so does a page re-crawled that late, whose
        own paragraphs then count once, as on a first visit. Returns the rows deleted."""
        pages = self.pages
        horizon = pages - self.prune_after
        if horizon <= 0:
            return 0
        counts, firsts, page_rows = self._rows()
        stale = [key for key, index in page_rows.items() if index <= horizon]
        for k, first in firsts.items():
            if first <= horizon and not self._is_boilerplate(counts.get(k, 0), first, pages):
                stale += [f"f:{k}", f"c:{k}"]
        stale += [f"c:{k}" for k in counts.keys() - firsts.keys()]  # a count without its first sighting
        with self._batch():
            for key in stale:
                self.store.delete(self.ns, key)
        if stale:
            logger.info("boilerplate %s: pruned %d rows", self.outlet, len(stale))
        return len(stale)

    def _rows(self) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
        """The outlet's block counts and first sightings by block key, and its page rows
        (page key -> page index), from one scan of its state."""
        counts, firsts, page_rows = {}, {}, {}
        for key, value in self.store.items(self.ns):
            kind, _, rest = key.partition(":")
            if kind == "c":
                counts[rest] = int(value)
            elif kind == "f":
                firsts[rest] = int(value)
            elif kind == "p":
                page_rows[key] = int(value)
        return counts, firsts, page_rows

    def boilerplate_keys(self, blocks: list[dict]) -> set[str]:
        keys = {key_of(b) for b in blocks if b.get("text")}
        if not keys:
            return set()
        pages = self.pages
        got = self.store.get_many(self.ns, [f"c:{k}" for k in keys] + [f"f:{k}" for k in keys])
        out = set()
        for k in keys:
            if self._is_boilerplate(int(got.get(f"c:{k}", 0)), int(got.get(f"f:{k}", 1)), pages):
                out.add(k)
        return out

    def filter(self, blocks: list[dict]) -> tuple[list[dict], Counter]:
        """The blocks that stay once the learned boilerplate is removed (`split_learned`),
        and the count removed."""
        bad = self.boilerplate_keys(blocks)
        kept, gone = split_learned(blocks, bad)
        for b in gone:
            b[REMOVED] = LEARNED
        removed = Counter({LEARNED: len(gone)}) if gone else Counter()
        return kept, removed


# What the learned layer may remove of what recurs across an outlet's pages. A block
# that recurs is only a candidate: it goes when it behaves like a template, and never so
# much of an article that the article is lost. Long paragraphs shared by several of an
# outlet's articles (wire copy run again with a new lede, a live story whose pages repeat
# earlier updates) are content; the dedupe stage marks such near-copies (duplicate_of).
#
# A candidate is template-like when it is
#   promotional: a phrasing the text rules know (strong or weak), or link-heavy (at least
#     LEARNED_LINK_DENSITY of its text is link text), at any place;
#   or short (at most STORY_PARAGRAPH_CHARS: not a story paragraph) and at an edge of the
#     body (among its first or last LEARNED_EDGE_BLOCKS blocks), where mastheads, datelines,
#     "follow us" lines and publisher notes sit.
# The template-like candidates go, most template-like first (promotional before short,
# then the shorter first), as long as what goes stays within LEARNED_MAX_SHARE of the
# article's words; those past the bound, and every other candidate, stay.
LEARNED_EDGE_BLOCKS = 3
LEARNED_LINK_DENSITY = 0.5
LEARNED_MAX_SHARE = 1 / 3




def mark_for_learning(block: dict, rules: Rules | None = None) -> None:
    """What the learned layer reads of a kept block, computed where the rules are (the
    decruft stage's pure function, in a worker): its identity across pages (BLOCK_KEY),
    whether it reads as promotion (PROMOTIONAL) and its words (WORDS). The layer itself
    runs in the crawl process, which then matches no pattern and counts no word."""
    block[BLOCK_KEY] = block_key(block["text"])
    block[PROMOTIONAL] = _promotional(block, rules or load_rules())
    block[WORDS] = word_count(block["text"])


def _promotional(block: dict, rules: Rules) -> bool:
    if link_density(block) >= LEARNED_LINK_DENSITY:
        return True
    text = block.get("text", "")
    if text_category(text, rules):
        return True
    return any(weak_match(block, category, rules) for category, cat in rules.text.items() if cat.weak_re is not None)


def learned_rank(block: dict, index: int, count: int, rules: Rules | None = None) -> tuple[int, int] | None:
    """How template-like a recurring block is at position `index` of a body of `count`
    blocks: a sort key (lower is more template-like), or None when it is not (a story
    paragraph in the body: content, whatever recurs)."""
    chars = len(block.get("text", "").strip())
    promotional = block.get(PROMOTIONAL)
    if promotional is None:  # a block not marked by `mark_for_learning`
        promotional = _promotional(block, rules or load_rules())
    if promotional:
        return 0, chars
    at_edge = index < LEARNED_EDGE_BLOCKS or index >= count - LEARNED_EDGE_BLOCKS
    if chars <= STORY_PARAGRAPH_CHARS and at_edge:
        return 1, chars
    return None


def split_learned(blocks: list[dict], bad) -> tuple[list[dict], list[dict]]:
    """(kept, removed): the blocks, in order, that stay and that go as learned
    boilerplate, given `bad`, the keys of the blocks that recur across the outlet's pages.
    A recurring block goes only when it is template-like (`learned_rank`), the most
    template-like first, within LEARNED_MAX_SHARE of the article's words. The learned
    layer's one rule (BoilerplateLearner.filter): a function of the blocks (their text,
    links and order) and `bad` only."""
    if not bad:
        return list(blocks), []
    count = len(blocks)
    candidates = []  # (rank, index)
    for i, b in enumerate(blocks):
        if key_of(b) in bad:
            rank = learned_rank(b, i, count)
            if rank is not None:
                candidates.append((rank, i))
    if not candidates:
        return list(blocks), []
    words = [b[WORDS] if WORDS in b else word_count(b.get("text", "")) for b in blocks]
    budget = LEARNED_MAX_SHARE * sum(words)
    gone_at: set[int] = set()
    spent = 0
    for _, i in sorted(candidates):
        if spent + words[i] > budget:
            break  # the rest are less template-like: they stay too
        spent += words[i]
        gone_at.add(i)
    kept = [b for i, b in enumerate(blocks) if i not in gone_at]
    gone = [b for i, b in enumerate(blocks) if i in gone_at]
    return kept, gone


def learner_from_settings(store, outlet_name: str, settings) -> BoilerplateLearner:
    return BoilerplateLearner(
        store, outlet_name,
        min_pages=settings.getint("NEWSCRAWL_BOILERPLATE_MIN_PAGES", 3),
        min_share=settings.getfloat("NEWSCRAWL_BOILERPLATE_MIN_SHARE", 0.3),
        prune_after=settings.getint("NEWSCRAWL_BOILERPLATE_PRUNE_AFTER", 5000),
    )


