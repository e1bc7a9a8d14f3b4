"""Per-field comparison of extracted metadata with hand labels.

One comparison per field, applied the same way to every extractor:
- title: whitespace and case normalised; right if it equals the label, or if the label
  is contained in it once a trailing " | Site" (or " - Site") suffix is stripped;
- author: the label (the first visible byline name) matches one of the extracted
  authors, case-insensitively; a null label is right only when no author is given;
- published: same calendar day (the first 10 characters of the ISO date);
- language: same BCP 47 primary subtag.
"""

from __future__ import annotations

import re

FIELDS = ("title", "author", "published", "language")

_SUFFIX = re.compile(r"\s+[|\-–—·:]\s+[^|\-–—·:]+$")


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def title_correct(label: str, got: str | None) -> bool:
    want, have = _norm(label), _norm(got)
    if not have:
        return False
    if have == want:
        return True
    stripped = _SUFFIX.sub("", have)
    return bool(stripped) and (stripped == want or want in stripped and len(stripped) <= 1.5 * len(want))


def author_correct(label: str | None, got: list[str] | None) -> bool:
    names = [_norm(a) for a in got or [] if _norm(a)]
    if label is None:
        return not names
    return _norm(label) in names


def published_correct(label: str, got: str | None) -> bool:
    return bool(got) and str(got).strip()[:10] == label


def language_correct(label: str, got: str | None) -> bool:
    return bool(got) and re.split(r"[-_]", str(got).strip().lower())[0] == label.lower()


def field_correct(field: str, label: dict, got: dict) -> bool:
    if field == "title":
        return title_correct(label["title"], got.get("title"))
    if field == "author":
        return author_correct(label["author"], got.get("authors"))
    if field == "published":
        return published_correct(label["published"], got.get("published"))
    if field == "language":
        return language_correct(label["language"], got.get("language"))
    raise ValueError(f"unknown metadata field {field!r}")
