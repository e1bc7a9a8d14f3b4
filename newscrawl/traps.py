"""URL-space traps: URLs a site can generate without end (calendars, pagination,
relative links that nest a path into itself). Pure; the downloader refuses what this
names (newscrawl.guard.UrlTrapGuard)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl, unquote, urlsplit

from newscrawl import clock

PAGE_PARAMS = frozenset({"page", "p", "pg", "paged", "pagenum", "page_no", "pageno"})
_PAGE_PATH = re.compile(r"/(?:page|p)/(\d{1,12})(?:/|$)", re.I)
# A date in the path (a year with a month: /2026/01/, /2026/01/05/, /archive/2026-01-05;
# a lone four-digit segment is as often an article number) or in a date parameter.
_DATE_IN_PATH = re.compile(r"(?:^|/)(\d{4})[-/_.](\d{1,2})(?:[-/_.]\d{1,2})?(?=/|$)")
_DATE_PARAMS = frozenset({"date", "day", "year", "yr", "d", "from", "to", "month", "archive"})
_YEAR_VALUE = re.compile(r"^(\d{4})(?:[-/_.]\d{1,2}){0,2}$")


@dataclass(frozen=True)
class TrapLimits:
    max_segments: int = 20  # path segments
    max_repeats: int = 3  # times one path segment may occur in a path
    max_page: int = 200  # page number in ?page=N or /page/N
    min_year: int = 1990  # dates in the URL outside [min_year, this year + 1]
    max_years_ahead: int = 1


def _years(parts) -> list[int]:
    years = [int(m.group(1)) for m in _DATE_IN_PATH.finditer(parts.path) if 1 <= int(m.group(2)) <= 12]
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() in _DATE_PARAMS and (m := _YEAR_VALUE.match(value.strip())):
            years.append(int(m.group(1)))
    return years


def _pages(parts) -> list[int]:
    pages = [int(m.group(1)) for m in _PAGE_PATH.finditer(parts.path)]
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        value = value.strip()
        if key.lower() in PAGE_PARAMS and value.isascii() and value.isdigit() and len(value) <= 12:
            pages.append(int(value))
    return pages


def trap_kind(url: str, limits: TrapLimits = TrapLimits(), *, today: date | None = None) -> str | None:
    """Why a URL looks like a step into an endless URL space ("deep-path",
    "repeated-segment", "pagination", "calendar"), or None."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    segments = [unquote(s).lower() for s in parts.path.split("/") if s]
    if len(segments) > limits.max_segments:
        return "deep-path"
    if segments and max(Counter(segments).values()) > limits.max_repeats:
        return "repeated-segment"
    if any(page > limits.max_page for page in _pages(parts)):
        return "pagination"
    this_year = (today or clock.now().date()).year
    if any(not limits.min_year <= y <= this_year + limits.max_years_ahead for y in _years(parts)):
        return "calendar"
    return None
