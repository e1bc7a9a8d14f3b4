"""Retention: an hourly cron makes 8,760 logs and run reports per outlet a year.

At the end of each run (RunReport), the outlet's logs (<NEWSCRAWL_LOG_DIR>/<outlet>/
<UTC timestamp>.log) older than NEWSCRAWL_KEEP_LOGS_DAYS and its run reports
(<output>/<outlet>/runs/<UTC timestamp>.json) older than NEWSCRAWL_KEEP_REPORTS_DAYS are
deleted (default 90 days each; 0 keeps everything). The newest NEWSCRAWL_HEALTH_WINDOW of
each are always kept, however old: they are the health check's baseline (and its logs).

A file's age is the UTC timestamp its name starts with (the run's start), or its
modification time for a name without one.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timezone
from pathlib import Path

logger = logging.getLogger(__name__)

DAY = 86400
STAMP_RE = re.compile(r"^(\d{8}T\d{6}Z)")


# The UTC stamp in the names of log files, run reports and archive files.
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def file_time(path: Path) -> float:
    match = STAMP_RE.match(path.name)
    if match:
        try:
            return datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            pass
    return path.stat().st_mtime


def prune(folder: str | Path, suffix: str, *, keep_days: float, keep_last: int = 0, keep=(),
          now: float | None = None) -> list[Path]:
    """Deletes folder/*<suffix> older than keep_days, but never the newest `keep_last` nor
    the paths in `keep`. Returns what was deleted. keep_days <= 0: nothing is deleted."""
    folder = Path(folder)
    if keep_days <= 0 or not folder.is_dir():
        return []
    now = time.time() if now is None else now
    dated = []
    for path in folder.glob(f"*{suffix}"):
        try:
            if path.is_file():
                dated.append((file_time(path), path.name, path))
        except OSError:
            continue
    dated.sort()
    protected = {p for _, _, p in dated[-keep_last:]} if keep_last > 0 else set()
    protected |= {Path(p) for p in keep}
    cutoff = now - keep_days * DAY
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
