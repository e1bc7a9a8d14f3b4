"""Words of a text, counted one way everywhere: the record's `word_count`, validation's
minimum, near-duplicate shingles and the learned boilerplate's share of an article."""

from __future__ import annotations

import re

# Han ideographs, kana, Hangul syllables: scripts written without spaces between words
# count one word per character, the usual convention for CJK word counts.
_CJK_RE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD_PART_RE = re.compile(r"[^\W_]", re.UNICODE)


_WORD_EDGE_PUNCTUATION = ".,;:!?\"'()[]{}«»“”‘’—–-…،۔।"


def tokens(text: str) -> list[str]:
    """Words of a normalised text, lower-cased: whitespace-separated runs that hold a
    letter or digit (punctuation stripped at the ends), each CJK character on its own."""
    lowered = text.lower()
    if not _CJK_RE.search(lowered):  # most texts: no word to cut into characters
        # The punctuation stripped holds no letter or digit, so a run holds one if what is
        # left does; isalnum() settles most words without the regex.
        words = (raw.strip(_WORD_EDGE_PUNCTUATION) for raw in lowered.split())
        return [word for word in words if word.isalnum() or _WORD_PART_RE.search(word)]
    out: list[str] = []
    for raw in lowered.split():
        if _CJK_RE.search(raw):
            for part in _CJK_RE.sub(lambda m: f" {m.group(0)} ", raw).split():
                if _WORD_PART_RE.search(part):
                    out.append(part)
        elif _WORD_PART_RE.search(raw):
            out.append(raw.strip(_WORD_EDGE_PUNCTUATION))
    return out


def word_count(text: str) -> int:
    return len(tokens(text))
