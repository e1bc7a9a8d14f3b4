"""Per-field comparison of extracted metadata with hand labels.

One comparison per field, applied the same way to every extractor:
- title: whitespace and case normalised; right if it equals the label, or if the label
  is contained in it once a trailing " | Site" (or " - Site") suffix is stripped;
- author: the label (the first visible byline name) matches one of the extracted
  authors, case-insensitively; a null label is right only when no author is given;
- published: same calendar day (the first 10 characters of the ISO date);
- language: same BCP 47 primary subtag.

fundus-dev carries its own ground truth (its parsers' title, authors and publishing
date) rather than hand labels, and is compared more strictly (`fundus_field_correct`):
- title: equal once quote marks are removed, whitespace collapsed and case folded;
- authors: equal as sets of lower-cased names;
- published: the same instant to the minute when both carry a time, else the same
  calendar date; an exact midnight is a date without a time.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone

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



FUNDUS_FIELDS = ("title", "authors", "published")

# Straight, typographic, low-9, guillemet and CJK corner quotes: sites dress the same
# headline differently in <title>, og:title and the visible <h1>.
QUOTES = dict.fromkeys(map(ord, "\"'`\u00ab\u00bb\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f"
                                "\u2039\u203a\u300c\u300d\u300e\u300f\uff02\uff07"))


def bare_title(text: str | None) -> str:
    return _norm((text or "").translate(QUOTES))


def fundus_title_correct(want: str | None, got: str | None) -> bool:
    return bool(bare_title(got)) and bare_title(got) == bare_title(want)


def author_set(names: list[str] | None) -> set[str]:
    return {" ".join(n.split()).lower() for n in names or [] if n and n.strip()}


def authors_correct(want: list[str] | None, got: list[str] | None) -> bool:
    """Same names, order aside; no names on both sides counts as right."""
    return author_set(want) == author_set(got)


def parse_when(value: str | date | None) -> datetime | date | None:
    """A datetime when the value carries a time of day other than exact midnight, else a
    date (a date-only publication is stored as midnight), else None when unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        when = value
    elif isinstance(value, date):
        return value
    else:
        text = str(value).strip()
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            try:
                return date.fromisoformat(text[:10])
            except ValueError:
                return None
    if (when.hour, when.minute, when.second, when.microsecond) == (0, 0, 0, 0):
        return when.date()
    return when


def _minute(when: datetime) -> datetime:
    return when.replace(second=0, microsecond=0)


def published_same(want: str | date | None, got: str | date | None) -> bool:
    """Two aware times compare as instants. A naive time is the page's local wall clock
    (fundus stores what the page shows when it gives no offset, e.g. Rolling Stone's
    `04:21:02` for `08:21:02+00:00`), so against it the other side's wall clock counts."""
    a, b = parse_when(want), parse_when(got)
    if a is None or b is None:
        return False
    if isinstance(a, datetime) and isinstance(b, datetime):
        if a.tzinfo is not None and b.tzinfo is not None:
            return _minute(a.astimezone(timezone.utc)) == _minute(b.astimezone(timezone.utc))
        return _minute(a.replace(tzinfo=None)) == _minute(b.replace(tzinfo=None))
    day = lambda w: w.date() if isinstance(w, datetime) else w  # noqa: E731
    return day(a) == day(b)


def fundus_field_correct(field: str, truth: dict, got: dict) -> bool:
    if field == "title":
        return fundus_title_correct(truth.get("title"), got.get("title"))
    if field == "authors":
        return authors_correct(truth.get("authors"), got.get("authors"))
    if field == "published":
        return published_same(truth.get("published"), got.get("published"))
    raise ValueError(f"unknown fundus metadata field {field!r}")
