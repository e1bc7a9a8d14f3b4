"""Exit codes of `scrapy crawl` and `newscrawl crawl`, for cron and monitoring.

Small, distinct, stable numbers; documented in the README. 2 is also what argparse and
Scrapy use for a usage error, so a mistyped command and a bad setting read the same.
"""

from __future__ import annotations

OK = 0
ERROR = 1  # an error in our code: a pipeline or spider callback raised
CONFIG = 2  # bad configuration or usage: unknown outlet, bad setting, bad arguments, an invalid
            # outlet record (`newscrawl crawl --all` skips it, crawls the rest, then exits 2)
LOCKED = 3  # another crawl of the same outlet holds its lock
FAILED = 4  # the crawl failed: no request got an answer we could use, or it was cut short
BLOCKED = 5  # the site blocked us: most answers were 403 / 429
EMPTY = 6  # zero articles where earlier runs found some
STORE = 7  # the state store (or broker) is unreachable, or was lost mid-crawl
STORAGE = 8  # the output or state folder is unwritable or full
INTERRUPTED = 9  # stopped by SIGTERM or SIGINT

NAMES = {OK: "ok", ERROR: "error", CONFIG: "config", LOCKED: "locked", FAILED: "failed",
         BLOCKED: "blocked", EMPTY: "empty", STORE: "store", STORAGE: "storage", INTERRUPTED: "interrupted"}

# Which code `newscrawl crawl --all` reports when outlets end differently: the first of
# these that any outlet returned. Our own bugs and bad configuration come first (a person
# must act); a held lock last (the other run is doing the work).
SEVERITY = (INTERRUPTED, ERROR, STORAGE, STORE, CONFIG, BLOCKED, FAILED, EMPTY, LOCKED)


class ConfigError(Exception):
    """A setting or argument that cannot work; the crawl exits with CONFIG."""


def combined(codes) -> int:
    """One exit code for several outlets: 0 when all succeeded, else the most severe."""
    codes = set(codes)
    for code in SEVERITY:
        if code in codes:
            return code
    return max(codes - {OK}, default=OK)  # a code we do not know: pass it on
