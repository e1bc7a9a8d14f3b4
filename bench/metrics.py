"""Text-extraction quality as the article-extraction-benchmark measures it.

Tokens are `\\w+` matches; each text becomes a multiset of 4-token shingles. Per page,
true positives, false positives and false negatives are counted on the two multisets and
normalised to sum to 1; precision and recall are averaged over pages, and F1 is the
harmonic mean of the two averages (not the mean of per-page F1s).

fundus-dev is scored with the same metric on normalised text (`fundus_tokens`): its pages
come from many scripts and publishers, and invisible characters or an unspaced Japanese
clause would otherwise decide the score instead of the extracted words.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

TOKEN = re.compile(r"\w+")
SHINGLE_SIZE = 4

# Soft hyphen, zero-width space / non-joiner / joiner, word joiner, BOM: invisible, and
# present on one side only when a site hyphenates or joins words for display.
INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
# Han (with the iteration marks), hiragana, katakana and halfwidth katakana. These scripts
# write clauses without spaces, so one `\w+` match would be a whole clause and a single
# differing character would cost the whole shingle run.
CJK = ("\u3005-\u3007\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
       "\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f")
CJK_TOKEN = re.compile(rf"(?=\w)[{CJK}]|[^\W{CJK}]+")  # the lookahead leaves out "・" and the like


def tokenize(text: str | None) -> list[str]:
    return TOKEN.findall(text or "")


def normalise(text: str | None) -> str:
    """Invisible characters removed, then NFC, so that the same words typed with
    combining accents or display-only joiners compare equal."""
    return unicodedata.normalize("NFC", (text or "").translate(INVISIBLE))


def fundus_tokens(text: str | None) -> list[str]:
    """`\\w+` tokens of the normalised text, each Han or kana character a token of its own."""
    return CJK_TOKEN.findall(normalise(text))


def shingles(text: str | None, n: int = SHINGLE_SIZE, tokens: Callable = tokenize) -> Counter:
    tokens = tokens(text)
    # A text shorter than n tokens is one shingle of what it has, so that a short
    # prediction still counts against (or for) the page.
    return Counter(" ".join(tokens[i:i + n]) for i in range(max(1, len(tokens) - n + 1)))


@dataclass(frozen=True)
class PageScore:
    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        if self.tp == self.fp == 0:
            return 0.0
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        if self.fp == self.fn == 0:
            return 1.0
        if self.tp == self.fn == 0:
            return 0.0
        return self.tp / (self.tp + self.fn)

    @property
    def f1(self) -> float:
        """One page's F1, for ranking pages; the set's F1 is `summarise`'s, not a mean of these."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score_page(expected: str | None, predicted: str | None, tokens: Callable = tokenize) -> PageScore:
    want, got = shingles(expected, tokens=tokens), shingles(predicted, tokens=tokens)
    tp = fp = fn = 0
    for key in want.keys() | got.keys():
        w, g = want.get(key, 0), got.get(key, 0)
        tp += min(w, g)
        fp += max(0, g - w)
        fn += max(0, w - g)
    total = tp + fp + fn
    if total:
        return PageScore(tp / total, fp / total, fn / total)
    return PageScore(0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Summary:
    f1: float
    precision: float
    recall: float
    pages: int


def summarise(scores: Iterable[PageScore]) -> Summary:
    scores = list(scores)
    if not scores:
        raise ValueError("no pages to summarise")
    precision = statistics.fmean(s.precision for s in scores)
    recall = statistics.fmean(s.recall for s in scores)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Summary(f1, precision, recall, len(scores))
