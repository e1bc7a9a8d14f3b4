"""Dates as the page itself states them: its own UTC offset, and free-form date strings.

Publishers often declare the publication time in UTC (JSON-LD, meta tags) while the
page shows, and readers and archives expect, the local day. A UTC time stays as it is
unless the page itself gives away its offset: the same instant shown as a local clock
time on the page (the minutes agree and the difference is a whole quarter hour), or
another of its declared date-times written with a non-zero offset. No offset is ever
assumed from the site, the language or the URL.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta, timezone

ISO_UTC = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(?:Z|[+-]00:?00|GMT|UTC)$", re.I
)
# Any ISO date-time with an explicit offset, anywhere in a string.
ISO_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})\b")
# A date-time without an offset: the page's local clock (e.g. "2019-11-18 20:58:46").
ISO_NAIVE = re.compile(r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::\d{2})?(?![\d.:]|\s*(?:Z|[+-]\d{2}:?\d{2}))")
MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
MONTH = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
WRITTEN_DATE = re.compile(
    rf"\b{MONTH}\s+(\d{{1,2}}),?\s+(\d{{4}})\b|\b(\d{{1,2}})\.?\s+{MONTH},?\s+(\d{{4}})\b", re.I
)
CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})(?::\d{2})?\s*([ap])?\.?m?\.?(?![\w:])", re.I)
# A clock time's first colon with the two digits after it. The colon, a literal, is found
# far faster than CLOCK's leading word boundary and digits are tried at every character.
CLOCK_COLON = re.compile(r":\d{2}")
# How far apart a written date and its clock time may stand ("11:26 pm EST, Tuesday, ...").
PAIR_DISTANCE = 40
DATE_SPAN = 40  # "September 30, 2019" and its spacing fit well within this
# JavaScript's Date.toString(): "Tue Nov 19 2019 03:05:46 GMT+0000".
JS_DATE = re.compile(
    rf"^(?:\w{{3}},?\s+)?{MONTH}\s+(\d{{1,2}}),?\s+(\d{{4}})\s+(\d{{2}}):(\d{{2}}):(\d{{2}})\s*(?:GMT|UTC)?\s*([+-]\d{{2}}:?\d{{2}})?",
    re.I,
)
MAX_OFFSET_MINUTES = 14 * 60


def _offset(text: str) -> timezone | None:
    if text.upper() == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:])
    if minutes > MAX_OFFSET_MINUTES:
        return None
    return timezone(sign * timedelta(minutes=minutes))


def iso_from_js_date(value: str) -> str | None:
    """A Date.toString()-style string as ISO 8601, or None when it is not one."""
    m = JS_DATE.match(value.strip())
    if not m:
        return None
    month, day, year, hh, mm, ss, off = m.groups()
    tz = _offset(off) if off else timezone.utc
    if tz is None:
        return None
    try:
        return datetime(int(year), MONTHS[month[:3].lower()], int(day), int(hh), int(mm), int(ss),
                        tzinfo=tz).isoformat()
    except ValueError:
        return None


def _utc_instant(value: str) -> datetime | None:
    m = ISO_UTC.match(value.strip())
    if not m:
        return None
    day, hh, mm, ss = m.groups()
    try:
        return datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss or '00'}+00:00")
    except ValueError:
        return None


def _clock_times(text: str) -> list[re.Match]:
    """The matches of CLOCK.finditer(text), found from the colons. A clock time begins one
    or two digits before its first colon, so the pattern is tried there alone, leftmost
    first and never inside the time found before. (match() at a position still sees the
    character before it, which the leading word boundary tests.)"""
    found: list[re.Match] = []
    resume = 0
    for colon in CLOCK_COLON.finditer(text):
        for start in (colon.start() - 2, colon.start() - 1):
            if start >= resume and (m := CLOCK.match(text, start)):
                found.append(m)
                resume = m.end()
                break
    return found


def _written_datetimes(text: str) -> list[datetime]:
    """Local date-times shown as text: a written date with a clock time next to it."""
    clocks = _clock_times(text)
    if not clocks:
        return []
    # Only dates that stand near a clock time count: search those stretches alone, not
    # the whole page (the date pattern is costly on a long page). A date is at most
    # DATE_SPAN characters long; windows overlap-merged so no date is cut in two.
    windows: list[list[int]] = []
    for c in clocks:
        lo, hi = max(0, c.start() - PAIR_DISTANCE - DATE_SPAN), c.end() + PAIR_DISTANCE + DATE_SPAN
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    dates = []
    for m in (m for lo, hi in windows for m in WRITTEN_DATE.finditer(text, lo, hi)):
        if m.group(1):
            month, day, year = m.group(1), m.group(2), m.group(3)
        else:
            day, month, year = m.group(4), m.group(5), m.group(6)
        dates.append((m.start(), m.end(), int(year), MONTHS[month[:3].lower()], int(day)))
    if not dates:
        return []
    out = []
    for c in clocks:
        hour, minute, half = int(c.group(1)), int(c.group(2)), (c.group(3) or "").lower()
        if half:
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if half == "p" else 0)
        near = [d for d in dates if -PAIR_DISTANCE <= c.start() - d[1] <= PAIR_DISTANCE
                or -PAIR_DISTANCE <= d[0] - c.end() <= PAIR_DISTANCE]
        for _, _, year, month, day in near:
            try:
                out.append(datetime(year, month, day, hour, minute))
            except ValueError:
                continue
    return out


def _naive_datetimes(text: str) -> list[datetime]:
    out = []
    for m in ISO_NAIVE.finditer(text):
        try:
            out.append(datetime(*(int(g) for g in m.groups())))
        except ValueError:
            continue
    return out


def _clock_offset(instants: list[datetime], local_times: list[datetime]) -> timezone | None:
    """The offset at which a local time shown on the page equals one of its UTC instants."""
    found = Counter()
    for instant in instants:
        base = instant.replace(second=0, tzinfo=None)
        for local in local_times:
            minutes = round((local - base).total_seconds() / 60)
            if minutes and minutes % 15 == 0 and abs(minutes) <= MAX_OFFSET_MINUTES:
                found[minutes] += 1
    if not found:
        return None
    return timezone(timedelta(minutes=found.most_common(1)[0][0]))


def _declared_offset(declared: list[str]) -> timezone | None:
    """The first non-zero offset among the page's other declared date-times."""
    for value in declared:
        for m in ISO_WITH_OFFSET.finditer(value):
            tz = _offset(m.group(1))
            if tz is not None and tz.utcoffset(None):
                return tz
    return None


def given_in_utc(published: str) -> bool:
    """Whether `published` is a UTC date-time, the one kind in_page_time_zone may move."""
    return _utc_instant(published) is not None


def in_page_time_zone(published: str, declared: list[str], shown: str) -> str:
    """`published` moved to the page's own offset when it is given in UTC.

    `declared`: the page's other machine-readable date-times (meta contents, JSON-LD
    dates, <time datetime>); `shown`: text where the page writes dates for readers.
    """
    instant = _utc_instant(published)
    if instant is None:
        return published
    others = [i for i in (_utc_instant(v) for v in declared) if i is not None]
    written = _written_datetimes(shown)
    tz = (_clock_offset([instant], written + _naive_datetimes(" ".join(declared)))
          or _clock_offset(others, written)
          or _declared_offset(declared))
    return instant.astimezone(tz).isoformat() if tz else published


# A date-time without an offset, as a whole value ("2023-04-28 18:11:01.0", "2024-04-25T14:07").
NAIVE_VALUE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?$")
# A Unix time in seconds or milliseconds, 2001 to 2286.
UNIX_TIME = re.compile(r"(?<![\d.])(1\d{9})(\d{3})?(?![\d.])")


def _naive_value(value: str) -> tuple[datetime, bool] | None:
    """The local date-time of a naive value with a clock time, and whether it gives seconds."""
    m = NAIVE_VALUE.match(value.strip())
    if not m:
        return None
    try:
        local = datetime(*(int(g) for g in m.groups()[:5]), int(m.group(6) or 0))
    except ValueError:
        return None
    return local, m.group(6) is not None


def _same_clock_offset(local: datetime, declared: list[str]) -> timezone | None:
    """The offset of a declared date-time that writes the same local clock time."""
    for value in declared:
        for m in ISO_WITH_OFFSET.finditer(value):
            try:
                dt = datetime.fromisoformat(m.group(0).replace(" ", "T").replace("Z", "+00:00"))
            except ValueError:
                continue
            if dt.replace(tzinfo=None, second=0, microsecond=0) == local.replace(second=0):
                return dt.tzinfo
    return None


def _unix_time_offset(local: datetime, exact: bool, text: str) -> timezone | None:
    """The offset at which a Unix time in the page is this local time: to the second when
    the local time gives seconds, else to the minute."""
    as_utc = local.replace(tzinfo=timezone.utc).timestamp()
    for m in UNIX_TIME.finditer(text):
        diff = as_utc - int(m.group(1))
        offset = round(diff / 900) * 900
        if abs(offset) <= MAX_OFFSET_MINUTES * 60 and (diff == offset if exact else 0 <= offset - diff < 60):
            return timezone(timedelta(seconds=offset))
    return None


def naive_in_page_offset(published: str, declared: list[str], scripts: str) -> str:
    """A naive `published` date-time with the page's own offset, where the page states it:
    another declared date-time writing the same clock time with an offset, a Unix time in
    the page (`scripts`: its script and meta text) that is the same instant at a whole
    quarter-hour offset, else the offset its other declared date-times carry. Returned as
    it is otherwise (the normalise stage then reads it in the outlet's time zone)."""
    found = _naive_value(published)
    if found is None:
        return published
    local, exact = found
    tz = (_same_clock_offset(local, declared) or _unix_time_offset(local, exact, scripts)
          or _declared_offset(declared) or _any_declared_offset(declared))
    return local.replace(tzinfo=tz).isoformat() if tz else published


def _any_declared_offset(declared: list[str]) -> timezone | None:
    for value in declared:
        for m in ISO_WITH_OFFSET.finditer(value):
            tz = _offset(m.group(1))
            if tz is not None:
                return tz
    return None
