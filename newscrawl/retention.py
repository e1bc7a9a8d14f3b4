"""Retention: an hourly cron makes 8,760 logs and run reports per outlet a year.

At the end of each run (RunReport), the outlet's logs (<NEWSCRAWL_LOG_DIR>/<outlet>/
<UTC timestamp>.log) older than NEWSCRAWL_KEEP_LOGS_DAYS and its run reports
(<output>/<outlet>/runs/<UTC timestamp>.json) older than NEWSCRAWL_KEEP_REPORTS_DAYS are
deleted (default 90 days each; 0 keeps everything). The newest NEWSCRAWL_HEALTH_WINDOW of
each are always kept, however old: they are the health check's baseline (and its logs).
At the end of `newscrawl crawl`, the crawl processes' own logs (<NEWSCRAWL_LOG_DIR>/_fleet/
<UTC timestamp>-<shard>.log) are pruned the same way, by NEWSCRAWL_KEEP_LOGS_DAYS.

A file's age is the UTC timestamp its name starts with (the run's start), or its
modification time for a name without one; it is compared with the crawl's clock
(newscrawl/clock.py).
"""

from __future__ import annotations

import logging
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from newscrawl import clock

logger = logging.getLogger(__name__)

DAY = 86400
STAMP_RE = re.compile(r"^(\d{8}T\d{6}Z)")


# The UTC stamp in the names of log files, run reports and archive files.
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# The folder of the crawl processes' own logs, in NEWSCRAWL_LOG_DIR (newscrawl/cronrun.py).
FLEET_LOGS = "_fleet"


def stamp_of(when: float) -> str:
    """An epoch time as a UTC stamp (STAMP_FORMAT). Stamps sort as the times they name."""
    return datetime.fromtimestamp(when, timezone.utc).strftime(STAMP_FORMAT)


def file_stamp(entry: os.DirEntry) -> str:
    """The UTC stamp a file is dated by: the one its name starts with, or its modification
    time's. Compared as text: parsing the date of every one of a folder's 2,000 files at
    every run cost more than the run's own report."""
    match = STAMP_RE.match(entry.name)
    return match.group(1) if match else stamp_of(entry.stat().st_mtime)


def prune(folder: str | Path, suffix: str, *, keep_days: float, keep_last: int = 0, keep=(),
          now: float | None = None) -> list[Path]:
    """Deletes folder/*<suffix> older than keep_days, but never the newest `keep_last` nor
    the paths in `keep`. Returns what was deleted. keep_days <= 0: nothing is deleted."""
    folder = Path(folder)
    if keep_days <= 0 or not folder.is_dir():
        return []
    now = clock.time() if now is None else now
    dated = []
    with os.scandir(folder) as entries:
        for entry in entries:
            try:
                if entry.name.endswith(suffix) and entry.is_file():
                    dated.append((file_stamp(entry), entry.name, folder / entry.name))
            except OSError:
                continue
    dated.sort()
    protected = {p for _, _, p in dated[-keep_last:]} if keep_last > 0 else set()
    protected |= {Path(p) for p in keep}
    cutoff = stamp_of(now - keep_days * DAY)
    removed = []
    for stamp, _, path in dated:
        if stamp >= cutoff:
            break
        if path in protected:
            continue
        try:
            path.unlink()
            removed.append(path)
        except FileNotFoundError:
            pass
    return removed


def prune_fleet_logs(settings, log_dir: str | Path) -> int:
    """Prunes the crawl processes' own logs (<log_dir>/_fleet/<stamp>-<shard>.log, one per
    process and run) as an outlet's logs are: older than NEWSCRAWL_KEEP_LOGS_DAYS, the newest
    NEWSCRAWL_HEALTH_WINDOW kept. Returns how many were deleted; never raises for a file it
    cannot delete."""
    folder = Path(log_dir) / FLEET_LOGS
    try:
        removed = prune(folder, ".log", keep_days=settings.getfloat("NEWSCRAWL_KEEP_LOGS_DAYS", 90),
                        keep_last=settings.getint("NEWSCRAWL_HEALTH_WINDOW", 5))
    except OSError as exc:
        logger.warning("retention: cannot prune %s: %s", folder, exc)
        return 0
    return len(removed)


def prune_outlet(settings, outlet: str, *, reports: Path, current_log: str | None = None,
                 now: float | None = None) -> tuple[int, int]:
    """Prunes one outlet's logs and run reports per the settings; (logs, reports) deleted.
    Never raises for a file it cannot delete: the run's outcome does not depend on it."""
    window = settings.getint("NEWSCRAWL_HEALTH_WINDOW", 5)
    log_dir = Path(current_log).parent if current_log else \
        Path(settings.get("NEWSCRAWL_LOG_DIR") or "logs") / outlet
    counts = []
    for folder, suffix, days, keep in (
            (log_dir, ".log", settings.getfloat("NEWSCRAWL_KEEP_LOGS_DAYS", 90), [current_log] if current_log else []),
            (reports, ".json", settings.getfloat("NEWSCRAWL_KEEP_REPORTS_DAYS", 90), [])):
        try:
            removed = prune(folder, suffix, keep_days=days, keep_last=window, keep=keep, now=now)
        except OSError as exc:
            logger.warning("retention: cannot prune %s: %s", folder, exc, extra={"outlet": outlet})
            removed = []
        counts.append(len(removed))
    if any(counts):
        logger.info("retention: %d logs and %d run reports of %s deleted (older than the keep settings)",
                    counts[0], counts[1], outlet, extra={"outlet": outlet})
    return counts[0], counts[1]
