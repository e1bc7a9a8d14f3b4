"""Text-extraction quality as the article-extraction-benchmark measures it.

Tokens are `\\w+` matches; each text becomes a multiset of 4-token shingles. Per page,
true positives, false positives and false negatives are counted on the two multisets and
normalised to sum to 1; precision and recall are averaged over pages, and F1 is the
harmonic mean of the two averages (not the mean of per-page F1s).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

TOKEN = re.compile(r"\w+")
SHINGLE_SIZE = 4


def tokenize(text: str | None) -> list[str]:
    return TOKEN.findall(text or "")


def shingles(text: str | None, n: int = SHINGLE_SIZE) -> Counter:
    tokens = tokenize(text)
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


def score_page(expected: str | None, predicted: str | None) -> PageScore:
    want, got = shingles(expected), shingles(predicted)
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
