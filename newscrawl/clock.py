"""The crawl's clock: every "now" that ends up in a file name, a record, the state or a
retention decision is read here.

That is: the run's stamp (log file names, newscrawl/cronrun.py), the run report's name
and times, `fetched_at` (so the output's day folders), part and archive names, the
ledger's and the dedupe stage's timestamps, the expiry of near-duplicate signatures,
retention, and what `newscrawl compact` calls today. Durations (download delays,
timeouts, batch timers) use the monotonic clock and are not shifted.

NEWSCRAWL_CLOCK_OFFSET, an environment variable (seconds, may be negative or fractional;
unset or empty: 0), shifts this clock. It is there for tests and `bench/soak.py`, which
play a year of hourly runs in an hour, each run an hour later than the last; a
production crawl leaves it unset. It is an environment variable rather than a Scrapy
setting because helpers without settings read the clock too (part names, the pipeline
stages' worker processes), and child processes inherit it. It is read at every call, so
a process that changes it between two crawls runs the second one at the new time.
"""

from __future__ import annotations

import os
import time as _time
from datetime import datetime, timedelta, timezone

from newscrawl.exitcodes import ConfigError

OFFSET_VARIABLE = "NEWSCRAWL_CLOCK_OFFSET"
_parsed: tuple[str, float] = ("", 0.0)  # the last value read, and its seconds


def offset() -> float:
    """Seconds the clock is shifted by (0 when NEWSCRAWL_CLOCK_OFFSET is unset)."""
    global _parsed
    raw = os.environ.get(OFFSET_VARIABLE, "")
    if raw == _parsed[0]:
        return _parsed[1]
    try:
        seconds = float(raw) if raw.strip() else 0.0
    except ValueError:
        seconds = float("nan")
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ConfigError(f"{OFFSET_VARIABLE} must be a number of seconds, not {raw!r}")
    _parsed = (raw, seconds)
    return seconds


def time() -> float:
    """The epoch seconds of now, as `time.time()`, shifted."""
    return _time.time() + offset()


def now() -> datetime:
    """Now in UTC, as `datetime.now(timezone.utc)`, shifted."""
    return datetime.now(timezone.utc) + timedelta(seconds=offset())
